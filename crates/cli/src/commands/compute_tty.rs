//! `cloud compute exec -t` / `-it`: a command in a terminal, as
//! `docker exec -it`. The session is a WebSocket (see the client's
//! `exec_tty`); this end puts the user's terminal in raw mode, sends what
//! is typed and each new window size, and shows what comes back.

use anyhow::Result;
use bytes::Bytes;
use miniaws_client::{TtyRequest, TtyUpdate};
use rustix::termios::{OptionalActions, Termios};
use std::io::IsTerminal;
use std::os::fd::{AsFd, BorrowedFd};
use tokio::signal::unix::{SignalKind, signal};

use super::compute::{exit_with, resolve_instance, write_through};
use crate::context::Ctx;
use crate::error::{Interrupted, interrupted, user};

/// How long the server may send nothing, not even one of its pings (every
/// 10 s), before the session counts as lost: in raw mode Ctrl-C is only a
/// byte for a server that may be gone, so without this a dead connection
/// would hold the terminal until TCP gave up, hours later.
const SERVER_SILENCE_LIMIT: std::time::Duration = std::time::Duration::from_secs(45);

/// What docker says to `docker exec -it` without a terminal on its stdin.
pub const NOT_A_TTY: &str = "the input device is not a TTY";

/// Runs `request`'s command in instance `wanted` in a terminal; with
/// `interactive` (`-i`), what is typed goes to it.
pub async fn exec_tty(
    ctx: &mut Ctx,
    wanted: &str,
    mut request: TtyRequest,
    interactive: bool,
) -> Result<()> {
    // As docker: -t alone shows the command's terminal, -it also needs
    // one here to type into.
    if interactive && !std::io::stdin().is_terminal() {
        return Err(user(format!(
            "{NOT_A_TTY}: -it needs a terminal; to give the command input from a pipe or a \
             file, leave out -t (`cloud compute exec -i …`)"
        )));
    }
    if ctx.out.json {
        return Err(user(
            "--json and -t do not go together: a terminal's output is not JSON",
        ));
    }
    let client = ctx.client()?;
    let id = resolve_instance(&client, wanted, false).await?;
    if let Some((rows, cols)) = window_size() {
        (request.rows, request.cols) = (rows, cols);
    }
    let (mut writer, mut reader) = client.exec_tty(id, &request).await?;
    // From here on every way out passes the guard's drop, which gives the
    // terminal back as it was (an error, a panic, the command's end).
    let stdin = std::io::stdin();
    let raw = if interactive {
        Some(RawMode::enable(stdin.as_fd())?)
    } else {
        None
    };
    let mut keys = interactive.then(read_keys);
    let mut resized = signal(SignalKind::window_change())?;
    let mut interrupt = std::pin::pin!(interrupted());
    let mut check = tokio::time::interval(std::time::Duration::from_secs(5));
    let outcome: Result<Option<i64>> = loop {
        tokio::select! {
            update = reader.next() => match update {
                Some(Ok(TtyUpdate::Output(b))) => write_through(&mut std::io::stdout().lock(), &b),
                Some(Ok(TtyUpdate::Exit(code))) => break Ok(code),
                Some(Err(e)) => break Err(e.into()),
                None => break Err(anyhow::anyhow!(
                    "the terminal session ended without saying how the command ended"
                )),
            },
            typed = async { keys.as_mut().expect("guarded").recv().await }, if keys.is_some() => {
                match typed {
                    Some(b) => {
                        if let Err(e) = writer.send(b).await {
                            break Err(e.into());
                        }
                    }
                    // The terminal hung up: nothing more to type.
                    None => keys = None,
                }
            }
            _ = check.tick() => {
                if reader.silent_for() > SERVER_SILENCE_LIMIT {
                    break Err(anyhow::anyhow!(
                        "the server sent nothing for {} s, not even a ping: the session is lost \
                         (the server kills the command when it notices)",
                        SERVER_SILENCE_LIMIT.as_secs()
                    ));
                }
            }
            _ = resized.recv() => {
                if let Some((rows, cols)) = window_size() {
                    let _ = writer.resize(rows, cols).await;
                }
            }
            // Without raw mode Ctrl-C is a signal (in raw mode it is a byte
            // for the command); SIGTERM either way.
            () = &mut interrupt => break Err(Interrupted(
                "interrupted: the server kills the command when the session ends".into(),
            ).into()),
        }
    };
    drop(raw);
    // Stops the key reader (it sees its channel closed).
    drop(keys);
    let _ = writer.close().await;
    exit_with(outcome?, false, false, 0)
}

/// The size of the terminal `cloud` writes to (else reads from), if any.
fn window_size() -> Option<(u16, u16)> {
    let size = rustix::termios::tcgetwinsize(std::io::stdout())
        .or_else(|_| rustix::termios::tcgetwinsize(std::io::stdin()))
        .ok()?;
    (size.ws_row > 0 && size.ws_col > 0).then_some((size.ws_row, size.ws_col))
}

/// The terminal in raw mode (no echo, no line editing, no signals from
/// keys: every key goes to the command as it is pressed), given back as it
/// was when dropped. rustix's termios rather than a terminal crate: two
/// calls, and rustix is already a dependency.
struct RawMode<'a> {
    fd: BorrowedFd<'a>,
    saved: Termios,
}

impl<'a> RawMode<'a> {
    fn enable(fd: BorrowedFd<'a>) -> Result<Self> {
        let saved = rustix::termios::tcgetattr(fd)?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(fd, OptionalActions::Now, &raw)?;
        Ok(Self { fd, saved })
    }
}

impl Drop for RawMode<'_> {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(self.fd, OptionalActions::Now, &self.saved);
    }
}

/// What is typed, read on a thread of its own. Hand-written rather than
/// tokio's stdin: that reads on a blocking thread that cannot be stopped,
/// which would take the first key pressed after the session (the menu's)
/// and hold up the runtime's shutdown until a key comes. This thread
/// waits with `poll` for a tenth of a second at a time and stops once the
/// receiver is dropped.
fn read_keys() -> tokio::sync::mpsc::Receiver<Bytes> {
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(16);
    std::thread::spawn(move || {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let stdin = std::io::stdin();
        let tick = Timespec {
            tv_sec: 0,
            tv_nsec: 100_000_000,
        };
        let mut buf = [0u8; 4096];
        while !tx.is_closed() {
            let mut fds = [PollFd::new(&stdin, PollFlags::IN)];
            match rustix::event::poll(&mut fds, Some(&tick)) {
                Ok(0) | Err(rustix::io::Errno::INTR) => continue,
                Ok(_) => {}
                Err(_) => return,
            }
            match rustix::io::read(&stdin, &mut buf) {
                Ok(0) => return,
                Ok(n) => {
                    if tx.blocking_send(Bytes::copy_from_slice(&buf[..n])).is_err() {
                        return;
                    }
                }
                Err(rustix::io::Errno::INTR | rustix::io::Errno::AGAIN) => {}
                Err(_) => return,
            }
        }
    });
    rx
}
