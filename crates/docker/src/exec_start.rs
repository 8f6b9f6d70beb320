//! A command Docker could not start, told apart from one that ran.
//!
//! When an exec'd command cannot start (no such program, a file that is
//! not executable, a missing working directory, an unknown user), Docker
//! does not refuse the start call: it writes its own message on the
//! command's output ("OCI runtime exec failed: exec failed: unable to
//! start container process: exec: \"nosuchprog\": executable file not
//! found in $PATH: unknown", "unable to find user bob: no matching
//! entries in passwd file"), ends the output and records exit code 126,
//! as if a command had printed that and exited 126 (`docker exec` shows
//! it so). Mini AWS reports it as what it is, bad input: the output's
//! first chunk, when it reads like such a message, is held back until
//! the output goes on (then it was the command's own) or ends; at the end
//! Docker's exec inspect says whether a process ever ran (`Pid` 0 and
//! exit code 126 or 127 when none did), and the message becomes an
//! `InvalidInput` error in place of the output.

use bollard::Docker;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use futures::{StreamExt, stream};
use miniaws_core::{CoreError, CoreResult};
use std::time::Duration;

/// How Docker's messages for a command it could not start begin.
const START_FAILURES: &[&str] = &[
    "OCI runtime exec failed",
    "unable to find user",
    "unable to find group",
];

/// How long a first chunk that reads like a start failure is held back
/// waiting for the output's end. A command that never started ends its
/// output at once; a command that printed such text itself and runs on
/// has it passed on after this delay.
const HOLD: Duration = Duration::from_secs(2);

/// Docker's wrapping around the runtime's own words, left out of the
/// error's message.
const PREFIXES: &[&str] = &[
    "OCI runtime exec failed: ",
    "exec failed: ",
    "unable to start container process: ",
];

/// `output` (a command's output, whose items `bytes_of` reads), with a
/// start failure reported as an `InvalidInput` error instead of Docker's
/// text (see the module's documentation). `never_started` is awaited only
/// when the output ends right after such a text.
pub(crate) fn report_start_failure<T: Send + 'static>(
    output: BoxStream<'static, CoreResult<T>>,
    bytes_of: fn(&T) -> Option<&[u8]>,
    never_started: BoxFuture<'static, bool>,
) -> BoxStream<'static, CoreResult<T>> {
    let head = async move {
        let mut output = output;
        let Some(first) = output.next().await else {
            return (Vec::new(), output);
        };
        let failure = match &first {
            Ok(chunk) => bytes_of(chunk).and_then(start_failure_message),
            Err(_) => None,
        };
        let Some(message) = failure else {
            return (vec![first], output);
        };
        match tokio::time::timeout(HOLD, output.next()).await {
            Ok(None) if never_started.await => (vec![Err(CoreError::invalid(message))], output),
            Ok(None) | Err(_) => (vec![first], output),
            Ok(Some(next)) => (vec![first, next], output),
        }
    };
    stream::once(head)
        .flat_map(|(items, rest)| stream::iter(items).chain(rest))
        .boxed()
}

/// The error's message when `bytes` read like Docker's words for a
/// command it could not start; `None` otherwise.
fn start_failure_message(bytes: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(bytes).ok()?.trim();
    if !START_FAILURES.iter().any(|start| text.starts_with(start)) {
        return None;
    }
    let mut words = text;
    for prefix in PREFIXES {
        words = words.strip_prefix(prefix).unwrap_or(words);
    }
    let words = words.strip_suffix(": unknown").unwrap_or(words);
    Some(format!(
        "the command could not be started in the instance: {words}"
    ))
}

/// Whether Docker says exec `exec_id` ended without ever running a
/// process: exit code 126 or 127 with no process id. Asks a few times
/// while Docker has not recorded the end yet; false when it cannot tell.
pub(crate) async fn never_started(docker: Docker, exec_id: String) -> bool {
    for _ in 0..25 {
        let inspected = tokio::time::timeout(Duration::from_secs(5), docker.inspect_exec(&exec_id));
        let Ok(Ok(inspected)) = inspected.await else {
            return false;
        };
        if crate::driver::exec_ended(inspected.running, inspected.exit_code) {
            return matches!(inspected.exit_code, Some(126 | 127)) && inspected.pid == Some(0);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    fn bytes(b: &String) -> Option<&[u8]> {
        Some(b.as_bytes())
    }

    async fn run(items: Vec<&str>, started: bool) -> CoreResult<Vec<String>> {
        let items: Vec<CoreResult<String>> = items.into_iter().map(|s| Ok(s.to_owned())).collect();
        let output = stream::iter(items).boxed();
        report_start_failure(output, bytes, Box::pin(async move { !started }))
            .try_collect()
            .await
    }

    const OCI: &str = "OCI runtime exec failed: exec failed: unable to start container process: exec: \"nosuchprog\": executable file not found in $PATH: unknown\r\n";

    #[tokio::test]
    async fn a_command_that_never_started_is_an_error_naming_why() {
        let err = run(vec![OCI], false).await.unwrap_err();
        assert!(matches!(err, CoreError::InvalidInput(_)), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the command could not be started in the instance: exec: \"nosuchprog\": executable file not found in $PATH"
        );
        let user = "unable to find user bob: no matching entries in passwd file\n";
        let err = run(vec![user], false).await.unwrap_err();
        assert_eq!(
            err.to_string(),
            "the command could not be started in the instance: unable to find user bob: no matching entries in passwd file"
        );
    }

    #[tokio::test]
    async fn output_that_only_looks_like_it_is_passed_on() {
        // The command ran (a process id), or went on writing.
        assert_eq!(run(vec![OCI], true).await.unwrap(), vec![OCI]);
        assert_eq!(
            run(vec![OCI, "more"], false).await.unwrap(),
            vec![OCI, "more"]
        );
        // Not a first chunk, or not Docker's words.
        assert_eq!(run(vec!["a", OCI], false).await.unwrap(), vec!["a", OCI]);
        assert_eq!(
            run(vec!["exec failed"], false).await.unwrap(),
            vec!["exec failed"]
        );
        assert!(run(vec![], false).await.unwrap().is_empty());
    }

    #[tokio::test(start_paused = true)]
    async fn a_command_that_printed_it_and_runs_on_has_it_after_the_hold() {
        let output = stream::iter([Ok(OCI.to_owned())])
            .chain(stream::pending())
            .boxed();
        let mut out = report_start_failure(output, bytes, Box::pin(async { true }));
        let first = out.next().await.expect("an item").expect("output");
        assert_eq!(first, OCI);
    }
}
