//! Turning failures into one line that says what went wrong and what to do.

use miniaws_client::{ClientError, StatusCode};

/// A failure the CLI detected itself, already phrased for the user.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UserError(pub String);

/// The user interrupted the command (Ctrl-C); exit code 130.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Interrupted(pub String);

/// The command `cloud compute exec` ran ended with this non-zero exit code
/// (or 124 for a wait that timed out): `cloud` exits with it, adding only
/// the message, if any.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CommandExit {
    /// The exit code to leave with.
    pub code: u8,
    /// What to say on stderr; empty to say nothing (the command's own
    /// output has said it).
    pub message: String,
}

/// Resolves when the user presses Ctrl-C (SIGINT) or the process gets
/// SIGTERM, so that commands can clean up before exiting.
pub async fn interrupted() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = term => {}
    }
}

/// Shorthand for an [`UserError`] as `anyhow::Error`.
pub fn user(message: impl Into<String>) -> anyhow::Error {
    UserError(message.into()).into()
}

/// The message for "this command needs a key and there is none".
pub const NO_API_KEY: &str = "no API key: run `cloud auth create-demo <name>` or pass --api-key";

/// One line for `err`, without the `error:` prefix.
pub fn describe(err: &anyhow::Error, verbose: bool) -> String {
    if let Some(e) = err.downcast_ref::<ClientError>() {
        return describe_client(e, verbose);
    }
    // `{:#}` joins the context chain on one line: "outer: inner: cause".
    format!("{err:#}")
}

fn describe_client(err: &ClientError, verbose: bool) -> String {
    match err {
        ClientError::Connect { endpoint, message } => {
            let base = format!("cannot reach miniaws at {endpoint} — is `miniaws serve` running?");
            if verbose {
                format!("{base} ({message})")
            } else {
                base
            }
        }
        ClientError::Api {
            status, message, ..
        } if *status == StatusCode::UNAUTHORIZED => format!(
            "the server rejected the API key ({message}): check --api-key, or run \
             `cloud auth login <key>` or `cloud auth create-demo <name>`"
        ),
        ClientError::Api {
            status, message, ..
        } if *status == StatusCode::FORBIDDEN => format!("not allowed: {message}"),
        // A server fault is found in the server's log by its request id
        // (which the message tells the user to search for); so is an
        // error inside an answer that began as a success (a streamed
        // exec's error line), which is the server's too.
        ClientError::Api {
            status,
            message,
            request_id: Some(id),
            ..
        } if status.is_server_error() || status.is_success() || verbose => {
            format!("{message} (request id: {id})")
        }
        ClientError::Api { message, .. } => message.clone(),
        ClientError::Transport(message) => format!(
            "the connection to miniaws failed mid-request ({message}): retry, or check the server log"
        ),
        ClientError::LaunchUnconfirmed { key, message, secs } => format!(
            "the connection to miniaws broke before the launch's answer ({message}) and the \
             server did not answer again within {secs} s, so the instance may or may not exist. \
             Once miniaws is back, run the same command with `--idempotency-key {key}`: it shows \
             the instance if it was launched and launches it if it was not"
        ),
        ClientError::Decode(message) => format!(
            "unexpected answer from the server ({message}): are `cloud` and `miniaws` the same version?"
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: StatusCode) -> ClientError {
        ClientError::Api {
            status,
            kind: "UNAVAILABLE".into(),
            message: "gone".into(),
            request_id: Some("req-9".into()),
        }
    }

    #[test]
    fn server_faults_and_errors_inside_a_success_name_their_request() {
        for (status, verbose, named) in [
            (StatusCode::SERVICE_UNAVAILABLE, false, true),
            // A streamed exec's error line comes inside a 200.
            (StatusCode::OK, false, true),
            (StatusCode::CONFLICT, false, false),
            (StatusCode::CONFLICT, true, true),
        ] {
            let line = describe_client(&api(status), verbose);
            assert_eq!(
                line.contains("(request id: req-9)"),
                named,
                "{status}: {line}"
            );
        }
    }
}
