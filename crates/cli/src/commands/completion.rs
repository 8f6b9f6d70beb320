//! `cloud completion bash|zsh|fish`.

use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, CompletionShell};

/// Writes the completion script for `shell` to stdout. Made in memory
/// first: clap_complete panics when its writer fails, and a reader that
/// stops early (`cloud completion zsh | head`) closes the pipe, which is
/// no error of ours.
///
/// # Errors
/// A failed write other than a closed pipe.
pub fn run(shell: CompletionShell) -> anyhow::Result<()> {
    use std::io::Write;
    let shell = match shell {
        CompletionShell::Bash => Shell::Bash,
        CompletionShell::Zsh => Shell::Zsh,
        CompletionShell::Fish => Shell::Fish,
    };
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "cloud", &mut script);
    let mut out = std::io::stdout().lock();
    match out.write_all(&script).and_then(|()| out.flush()) {
        // A closed pipe ends the output quietly, as `ls | head` does.
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(anyhow::Error::new(e).context("cannot write the completion script"))
        }
        _ => Ok(()),
    }
}
