//! `cloud`: the command-line client of Mini AWS.
//!
//! It sits outside the hexagon: it reaches the server only through
//! `miniaws-client`, never by building HTTP requests itself. `cli` holds the
//! command line, `context` resolves endpoint, key and profile, `commands`
//! holds one module per command group, `output` and `error` decide what the
//! user sees.
//!
//! Exit codes: 0 success, 1 an error (one line on stderr saying what went
//! wrong and what to do), 2 a usage error (from clap), 130 interrupted.

mod cli;
mod commands;
mod config;
mod context;
mod error;
mod menu;
mod output;
mod resolve;
mod sandbox;
mod transfer;

use clap::CommandFactory;
use std::io::IsTerminal;
use std::process::ExitCode;

use cli::{Cli, Command, GlobalArgs};
use context::Ctx;
use output::Output;

fn main() -> ExitCode {
    let cli = Cli::parse_checked();
    let out = Output::detect(cli.global.json);
    let verbose = cli.global.verbose;
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            report(
                &anyhow::anyhow!("cannot start the async runtime: {e}"),
                verbose,
                &out,
            );
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli, out)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if let Some(exit) = e.downcast_ref::<error::CommandExit>() {
                if !exit.message.is_empty() {
                    report(&e, verbose, &out);
                }
                return ExitCode::from(exit.code);
            }
            report(&e, verbose, &out);
            if e.downcast_ref::<error::Interrupted>().is_some() {
                // 128 + SIGINT, as shells report an interrupted command.
                ExitCode::from(130)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// Prints `err` as one `error: …` line on stderr.
fn report(err: &anyhow::Error, verbose: bool, out: &Output) {
    let prefix = if out.stderr_tty {
        console::style("error:")
            .red()
            .bold()
            .for_stderr()
            .to_string()
    } else {
        "error:".to_owned()
    };
    eprintln!("{prefix} {}", error::describe(err, verbose));
}

async fn run(cli: Cli, out: Output) -> anyhow::Result<()> {
    match cli.command {
        Some(command) => dispatch(cli.global, out, command).await,
        None if std::io::stdin().is_terminal() && out.stdout_tty && !out.json => {
            menu::run(cli.global, out).await
        }
        None => {
            out.line(&Cli::command().render_help().to_string());
            Ok(())
        }
    }
}

/// Runs one command.
pub async fn dispatch(global: GlobalArgs, out: Output, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Completion { shell } => commands::completion::run(shell),
        Command::Auth(cmd) => {
            let mut ctx = Ctx::new(global, out)?;
            commands::auth::run(&mut ctx, cmd).await
        }
        Command::Compute(cmd) => {
            let mut ctx = Ctx::new(global, out)?;
            commands::compute::run(&mut ctx, cmd).await
        }
        Command::Storage(cmd) => {
            let mut ctx = Ctx::new(global, out)?;
            commands::storage::run(&mut ctx, cmd).await
        }
    }
}
