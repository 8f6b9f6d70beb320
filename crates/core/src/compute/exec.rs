//! Running a command inside a running instance (`docker exec`): what may
//! be run, and what comes back; with a terminal (`docker exec -it`), the
//! session's input, output and size.

use async_trait::async_trait;
use bytes::Bytes;
use futures::Sink;
use futures::future::BoxFuture;
use futures::stream::BoxStream;
use std::collections::BTreeMap;
use std::pin::Pin;

use super::domain::{validate_command, validate_env};
use crate::error::{CoreError, CoreResult};

/// Longest working directory or user accepted, in bytes.
const MAX_FIELD_BYTES: usize = 4096;

/// The most input a command may be given on its standard input, in bytes
/// (given whole with the request, whose JSON carries it in base64).
pub const MAX_EXEC_STDIN_BYTES: usize = 512 * 1024;

/// A command to run in a running instance.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExecSpec {
    /// The program and its arguments, run without a shell.
    pub command: Vec<String>,
    /// Variables added to the container's environment for this command.
    pub env: BTreeMap<String, String>,
    /// The directory to run in (absolute); the image's when `None`.
    pub working_dir: Option<String>,
    /// `user`, `user:group`, `uid` or `uid:gid`; the image's when `None`.
    pub user: Option<String>,
    /// Bytes given to the command on its standard input, which is then
    /// closed (`docker exec -i` with input redirected). `None`: no standard
    /// input at all (a read sees its end at once).
    pub stdin: Option<Bytes>,
}

impl ExecSpec {
    /// Checks the spec before anything reaches the runtime.
    ///
    /// # Errors
    /// `InvalidInput` naming what is wrong: an empty command, a NUL, a
    /// relative working directory, a malformed user, a bad variable, more
    /// than [`MAX_EXEC_STDIN_BYTES`] of input.
    pub fn validate(&self) -> CoreResult<()> {
        if let Some(stdin) = &self.stdin
            && stdin.len() > MAX_EXEC_STDIN_BYTES
        {
            return Err(CoreError::invalid(format!(
                "stdin is {} bytes; a command may be given at most {MAX_EXEC_STDIN_BYTES} bytes of input",
                stdin.len()
            )));
        }
        if self.command.is_empty() || self.command[0].is_empty() {
            return Err(CoreError::invalid(
                "command is empty: give the program to run and its arguments, e.g. [\"ls\", \"-l\", \"/\"]",
            ));
        }
        validate_command(&self.command)?;
        validate_env(&self.env)?;
        if let Some(dir) = &self.working_dir
            && (!dir.starts_with('/') || dir.contains('\0') || dir.len() > MAX_FIELD_BYTES)
        {
            return Err(CoreError::invalid(format!(
                "working_dir must be an absolute path inside the instance, such as /app (got {dir:?})"
            )));
        }
        if let Some(user) = &self.user {
            let valid = !user.is_empty()
                && user.len() <= MAX_FIELD_BYTES
                && user.split(':').count() <= 2
                && user.split(':').all(|part| {
                    !part.is_empty()
                        && part
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
                });
            if !valid {
                return Err(CoreError::invalid(format!(
                    "user must be `user`, `user:group`, `uid` or `uid:gid` (got {user:?})"
                )));
            }
        }
        Ok(())
    }
}

/// A piece of a command's output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExecChunk {
    /// Bytes the command wrote to its standard output.
    Stdout(Bytes),
    /// Bytes the command wrote to its standard error.
    Stderr(Bytes),
}

/// A command started in an instance.
pub struct ExecRun {
    /// Its output as it comes; the stream ends when the command exits.
    pub output: BoxStream<'static, CoreResult<ExecChunk>>,
    /// Its exit code, to be awaited once `output` has ended (`None` when
    /// the runtime does not know it yet).
    pub exit_code: BoxFuture<'static, CoreResult<Option<i64>>>,
    /// Kills the command and the processes it started, when awaited (a
    /// wait for it that timed out): true when they are gone, false when
    /// the runtime could not kill them (they may still run).
    pub kill: BoxFuture<'static, bool>,
}

impl std::fmt::Debug for ExecRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExecRun")
    }
}

/// The most rows or columns a terminal may have (a 4K screen in a tiny
/// font has a few hundred; Docker takes 16 bits).
pub const MAX_TERMINAL_CELLS: u32 = 4096;

/// The size of a command's terminal, in character cells: from 1 to
/// [`MAX_TERMINAL_CELLS`] rows and columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TerminalSize {
    rows: u16,
    cols: u16,
}

impl TerminalSize {
    /// A size of `rows` by `cols`.
    ///
    /// # Errors
    /// `InvalidInput` naming the bounds when either is 0 or above
    /// [`MAX_TERMINAL_CELLS`].
    pub fn new(rows: u32, cols: u32) -> CoreResult<Self> {
        let cell = |n: u32| {
            u16::try_from(n)
                .ok()
                .filter(|n| (1..=MAX_TERMINAL_CELLS).contains(&u32::from(*n)))
        };
        match (cell(rows), cell(cols)) {
            (Some(rows), Some(cols)) => Ok(Self { rows, cols }),
            _ => Err(CoreError::invalid(format!(
                "a terminal has from 1 to {MAX_TERMINAL_CELLS} rows and columns (got {rows} rows, {cols} columns)"
            ))),
        }
    }

    /// Its height.
    pub fn rows(self) -> u16 {
        self.rows
    }

    /// Its width.
    pub fn cols(self) -> u16 {
        self.cols
    }
}

impl Default for TerminalSize {
    /// 24 by 80, a VT100's (what a terminal session gets when its client
    /// names no size).
    fn default() -> Self {
        Self { rows: 24, cols: 80 }
    }
}

/// Where what is typed goes: bytes for the command's terminal, as typed
/// (Ctrl-C is the byte 0x03, which the terminal turns into SIGINT).
pub type TerminalInput = Pin<Box<dyn Sink<Bytes, Error = CoreError> + Send>>;

/// Changes the size of a running command's terminal (the command gets
/// SIGWINCH).
#[async_trait]
pub trait TerminalResizer: Send + Sync {
    /// Resizes the terminal to `size`.
    ///
    /// # Errors
    /// `NotFound` when the command is gone; `Unavailable(Docker)`.
    async fn resize(&self, size: TerminalSize) -> CoreResult<()>;
}

/// A command started with a terminal (`docker exec -it`).
pub struct TtyRun {
    /// What the terminal shows (the command's stdout and stderr, as one),
    /// as it comes; the stream ends when the terminal closes.
    pub output: BoxStream<'static, CoreResult<Bytes>>,
    /// What is typed.
    pub input: TerminalInput,
    /// Resizes the terminal.
    pub resizer: Box<dyn TerminalResizer>,
    /// Its exit code, to be awaited once `output` has ended (`None` when
    /// the runtime does not know it).
    pub exit_code: BoxFuture<'static, CoreResult<Option<i64>>>,
    /// Kills the command and the processes it started, as
    /// [`ExecRun::kill`]: for a session that ends before its command does.
    pub kill: BoxFuture<'static, bool>,
}

impl std::fmt::Debug for TtyRun {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TtyRun")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_sizes_are_bounded() {
        let size = TerminalSize::new(50, 132).expect("valid");
        assert_eq!((size.rows(), size.cols()), (50, 132));
        assert!(TerminalSize::new(1, MAX_TERMINAL_CELLS).is_ok());
        for (rows, cols) in [(0, 80), (24, 0), (MAX_TERMINAL_CELLS + 1, 80), (70000, 80)] {
            let err = TerminalSize::new(rows, cols).expect_err("out of bounds");
            assert!(
                err.to_string().contains("from 1 to 4096"),
                "{rows}x{cols}: {err}"
            );
        }
        assert_eq!(TerminalSize::default(), TerminalSize::new(24, 80).unwrap());
    }

    fn spec(command: &[&str]) -> ExecSpec {
        ExecSpec {
            command: command.iter().map(|s| (*s).to_owned()).collect(),
            ..ExecSpec::default()
        }
    }

    #[test]
    fn a_plain_command_is_valid() {
        assert!(spec(&["ls", "-l", "/"]).validate().is_ok());
        let full = ExecSpec {
            working_dir: Some("/tmp".into()),
            user: Some("1000:1000".into()),
            env: [("MODE".to_owned(), "x".to_owned())].into(),
            ..spec(&["sh", "-c", "echo $MODE"])
        };
        assert!(full.validate().is_ok());
        let named = ExecSpec {
            user: Some("www-data".into()),
            ..spec(&["id"])
        };
        assert!(named.validate().is_ok());
    }

    #[test]
    fn refusals_say_what_is_wrong() {
        let message = |s: ExecSpec| s.validate().expect_err("refused").to_string();
        assert!(message(spec(&[])).contains("command is empty"));
        assert!(message(spec(&[""])).contains("command is empty"));
        assert!(message(spec(&["a\0b"])).contains("NUL"));
        let relative = ExecSpec {
            working_dir: Some("app".into()),
            ..spec(&["ls"])
        };
        assert!(message(relative).contains("absolute path"));
        for user in ["", "a:b:c", "root;rm", ":0", "0:"] {
            let bad = ExecSpec {
                user: Some(user.into()),
                ..spec(&["ls"])
            };
            assert!(message(bad).contains("user must be"), "{user:?}");
        }
        let env = ExecSpec {
            env: [("A=B".to_owned(), "x".to_owned())].into(),
            ..spec(&["ls"])
        };
        assert!(message(env).contains("environment variable"));
    }
}
