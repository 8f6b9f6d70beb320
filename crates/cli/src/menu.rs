//! The interactive menu of `cloud` without arguments on a terminal: pick a
//! service, then an action, answer its prompts; the menu shows the
//! equivalent command (so users learn it) and runs it like any other.

use anyhow::Result;
use dialoguer::theme::ColorfulTheme;
use dialoguer::{Input, Password, Select};

use crate::cli::{Cli, GlobalArgs};
use crate::output::Output;

/// One value an action asks for.
enum Prompt {
    /// A positional argument, asked with this label.
    Arg(&'static str),
    /// A secret positional argument (not echoed, not shown afterwards).
    Secret(&'static str),
    /// A flag's value, asked with this label.
    Flag(&'static str, &'static str),
    /// A flag's value that may be left empty (then the flag is omitted).
    OptionalFlag(&'static str, &'static str),
}

/// One menu entry: the command's words and what to ask for.
struct Action {
    label: &'static str,
    words: &'static [&'static str],
    prompts: &'static [Prompt],
}

/// A service and its actions.
struct Service {
    label: &'static str,
    actions: &'static [Action],
}

const SERVICES: &[Service] = &[
    Service {
        label: "compute  instances (containers)",
        actions: &[
            Action {
                label: "list instances",
                words: &["compute", "list"],
                prompts: &[],
            },
            Action {
                label: "list the images a launch can use",
                words: &["compute", "images"],
                prompts: &[],
            },
            Action {
                label: "launch an instance",
                words: &["compute", "launch"],
                prompts: &[
                    Prompt::Flag("--name", "name"),
                    Prompt::Flag("--image", "image (e.g. nginx:alpine)"),
                    Prompt::OptionalFlag("--port", "port HOST:CONTAINER (empty for none)"),
                ],
            },
            Action {
                label: "show an instance",
                words: &["compute", "show"],
                prompts: &[Prompt::Arg("instance (id, prefix or name)")],
            },
            Action {
                label: "stop an instance",
                words: &["compute", "stop"],
                prompts: &[Prompt::Arg("instance (id, prefix or name)")],
            },
            Action {
                label: "start an instance",
                words: &["compute", "start"],
                prompts: &[Prompt::Arg("instance (id, prefix or name)")],
            },
            Action {
                label: "reboot an instance",
                words: &["compute", "reboot"],
                prompts: &[Prompt::Arg("instance (id, prefix or name)")],
            },
            Action {
                label: "terminate an instance",
                words: &["compute", "terminate"],
                prompts: &[Prompt::Arg("instance (id, prefix or name)")],
            },
            Action {
                label: "show an instance's logs",
                words: &["compute", "logs"],
                prompts: &[Prompt::Arg("instance (id, prefix or name)")],
            },
            Action {
                label: "show an instance's resource use",
                words: &["compute", "stats"],
                prompts: &[Prompt::Arg("instance (id, prefix or name)")],
            },
            Action {
                label: "change a stopped instance's type",
                words: &["compute", "modify"],
                prompts: &[
                    Prompt::Arg("instance (id, prefix or name)"),
                    Prompt::Flag("--type", "instance type (e.g. t3.large)"),
                ],
            },
            Action {
                label: "tag an instance",
                words: &["compute", "tag"],
                prompts: &[
                    Prompt::Arg("instance (id, prefix or name)"),
                    Prompt::Arg("tag KEY=VALUE"),
                ],
            },
        ],
    },
    Service {
        label: "storage  buckets and objects",
        actions: &[
            Action {
                label: "list buckets",
                words: &["storage", "ls"],
                prompts: &[],
            },
            Action {
                label: "list objects",
                words: &["storage", "ls"],
                prompts: &[Prompt::Arg("bucket (optionally bucket/prefix)")],
            },
            Action {
                label: "upload a file",
                words: &["storage", "upload"],
                prompts: &[Prompt::Arg("bucket"), Prompt::Arg("file")],
            },
            Action {
                label: "download an object",
                words: &["storage", "download"],
                prompts: &[Prompt::Arg("bucket"), Prompt::Arg("key")],
            },
            Action {
                label: "download every object under a prefix",
                words: &["storage", "download", "--recursive"],
                prompts: &[
                    Prompt::Arg("bucket (optionally bucket/prefix)"),
                    Prompt::Arg("directory"),
                ],
            },
            Action {
                label: "delete an object",
                words: &["storage", "delete"],
                prompts: &[Prompt::Arg("bucket"), Prompt::Arg("key")],
            },
            Action {
                label: "delete every object under a prefix (asks first)",
                words: &["storage", "delete", "--recursive"],
                prompts: &[Prompt::Arg("bucket (optionally bucket/prefix)")],
            },
            Action {
                label: "make a bucket",
                words: &["storage", "mb"],
                prompts: &[Prompt::Arg("bucket")],
            },
            Action {
                label: "remove an empty bucket",
                words: &["storage", "rb"],
                prompts: &[Prompt::Arg("bucket")],
            },
            Action {
                label: "show a bucket's versioning",
                words: &["storage", "versioning"],
                prompts: &[Prompt::Arg("bucket")],
            },
            Action {
                label: "list every version and delete marker",
                words: &["storage", "ls", "--versions"],
                prompts: &[Prompt::Arg("bucket (optionally bucket/prefix)")],
            },
            Action {
                label: "copy an object (on the server)",
                words: &["storage", "copy"],
                prompts: &[
                    Prompt::Arg("source (bucket/key)"),
                    Prompt::Arg("destination (bucket, bucket/key or bucket/prefix/)"),
                ],
            },
            Action {
                label: "move an object (copy, then delete the source)",
                words: &["storage", "move"],
                prompts: &[
                    Prompt::Arg("source (bucket/key)"),
                    Prompt::Arg("destination (bucket, bucket/key or bucket/prefix/)"),
                ],
            },
            Action {
                label: "sync a directory up to a bucket (only what changed)",
                words: &["storage", "sync"],
                prompts: &[
                    Prompt::Arg("directory"),
                    Prompt::Arg("destination (s3://bucket or s3://bucket/prefix)"),
                ],
            },
            Action {
                label: "sync a bucket down into a directory (only what changed)",
                words: &["storage", "sync"],
                prompts: &[
                    Prompt::Arg("source (s3://bucket or s3://bucket/prefix)"),
                    Prompt::Arg("directory"),
                ],
            },
        ],
    },
    Service {
        label: "auth     users and API keys",
        actions: &[
            Action {
                label: "who am I",
                words: &["auth", "whoami"],
                prompts: &[],
            },
            Action {
                label: "list my API keys",
                words: &["auth", "keys", "list"],
                prompts: &[],
            },
            Action {
                label: "create another API key",
                words: &["auth", "keys", "create"],
                prompts: &[Prompt::Arg("key name")],
            },
            Action {
                label: "revoke an API key",
                words: &["auth", "keys", "revoke"],
                prompts: &[Prompt::Arg("key id (or unique prefix)")],
            },
            Action {
                label: "create a demo user and save its key",
                words: &["auth", "create-demo"],
                prompts: &[Prompt::Arg("user name")],
            },
            Action {
                label: "log in with an existing key",
                words: &["auth", "login"],
                prompts: &[Prompt::Secret("API key")],
            },
            Action {
                label: "show the AWS variables for the aws CLI and SDKs",
                words: &["auth", "aws-env"],
                prompts: &[],
            },
        ],
    },
];

/// Whether a dialoguer error is the user pressing Ctrl-C (Esc is not an
/// error: `interact_opt` answers `None`).
pub(crate) fn cancelled(e: &dialoguer::Error) -> bool {
    let dialoguer::Error::IO(io) = e;
    io.kind() == std::io::ErrorKind::Interrupted
}

/// Shows the terminal's cursor again when dropped. dialoguer's `Select`
/// hides it while it waits for a key, and on Ctrl-C its terminal crate
/// raises SIGINT, which (with no handler) ends the process on the spot:
/// the user's shell is left with no cursor. `run` therefore handles SIGINT
/// itself, so that Ctrl-C comes back as an error and this guard runs.
struct CursorShown;

impl Drop for CursorShown {
    fn drop(&mut self) {
        let _ = dialoguer::console::Term::stderr().show_cursor();
    }
}

/// Ctrl-C in the menu: it ends quietly with 130, as shells report an
/// interrupted command.
fn quit_by_ctrl_c() -> anyhow::Error {
    crate::error::CommandExit {
        code: 130,
        message: String::new(),
    }
    .into()
}

/// Runs the menu until the user quits.
pub async fn run(global: GlobalArgs, out: Output) -> Result<()> {
    // Kept for the whole menu: with a handler in place the raised SIGINT
    // only wakes it, and the prompt returns Ctrl-C as an error.
    let _sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    let _cursor = CursorShown;
    let theme = ColorfulTheme::default();
    loop {
        let mut items: Vec<&str> = SERVICES.iter().map(|s| s.label).collect();
        items.push("quit");
        let picked = match Select::with_theme(&theme)
            .with_prompt("Mini AWS — what do you want to work on?")
            .items(&items)
            .default(0)
            .interact_opt()
        {
            Ok(Some(i)) if i < SERVICES.len() => i,
            Ok(_) => return Ok(()),
            Err(e) if cancelled(&e) => return Err(quit_by_ctrl_c()),
            Err(e) => return Err(e.into()),
        };
        let service = &SERVICES[picked];
        let mut actions: Vec<&str> = service.actions.iter().map(|a| a.label).collect();
        actions.push("back");
        let action = match Select::with_theme(&theme)
            .with_prompt("Action")
            .items(&actions)
            .default(0)
            .interact_opt()
        {
            Ok(Some(i)) if i < service.actions.len() => &service.actions[i],
            Ok(_) => continue,
            Err(e) if cancelled(&e) => return Err(quit_by_ctrl_c()),
            Err(e) => return Err(e.into()),
        };
        let mut argv: Vec<String> = vec!["cloud".into()];
        argv.extend(action.words.iter().map(|w| w.to_string()));
        let mut shown = argv.clone();
        for prompt in action.prompts {
            let answer = match prompt {
                Prompt::Arg(label) | Prompt::Flag(_, label) => Input::<String>::with_theme(&theme)
                    .with_prompt(*label)
                    .interact_text(),
                Prompt::OptionalFlag(_, label) => Input::<String>::with_theme(&theme)
                    .with_prompt(*label)
                    .allow_empty(true)
                    .interact_text(),
                Prompt::Secret(label) => {
                    Password::with_theme(&theme).with_prompt(*label).interact()
                }
            };
            let answer = match answer {
                Ok(a) => a,
                Err(e) if cancelled(&e) => return Err(quit_by_ctrl_c()),
                Err(e) => return Err(e.into()),
            };
            match prompt {
                Prompt::Secret(_) => {
                    shown.push("<key>".into());
                    argv.push(answer);
                }
                Prompt::Arg(_) => {
                    shown.push(answer.clone());
                    argv.push(answer);
                }
                Prompt::Flag(flag, _) | Prompt::OptionalFlag(flag, _) => {
                    if !answer.trim().is_empty() {
                        shown.extend([flag.to_string(), answer.clone()]);
                        argv.extend([flag.to_string(), answer]);
                    }
                }
            }
        }
        eprintln!(
            "{}",
            console::style(format!("$ {}", shown.join(" ")))
                .dim()
                .for_stderr()
        );
        let command = match Cli::try_parse_ordered(&argv) {
            Ok(Cli {
                command: Some(command),
                ..
            }) => command,
            Ok(_) => continue,
            Err(e) => {
                eprintln!("{e}");
                continue;
            }
        };
        // An error ends the command, not the session.
        if let Err(e) = crate::dispatch(global.clone(), out, command).await {
            eprintln!(
                "{} {}",
                console::style("error:").red().bold().for_stderr(),
                crate::error::describe(&e, global.verbose)
            );
        }
        eprintln!();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every entry, its prompts answered with plain words (`k=v` for a
    /// tag), is a command `cloud` accepts: a renamed flag or subcommand
    /// breaks this, not a user's menu session.
    #[test]
    fn every_entry_parses_as_a_command() {
        for service in SERVICES {
            for action in service.actions {
                let mut argv: Vec<String> = vec!["cloud".into()];
                argv.extend(action.words.iter().map(|w| w.to_string()));
                for prompt in action.prompts {
                    match prompt {
                        Prompt::Arg(label) | Prompt::Secret(label) => {
                            argv.push(if label.contains('=') { "k=v" } else { "x" }.into());
                        }
                        Prompt::Flag(flag, _) | Prompt::OptionalFlag(flag, _) => {
                            argv.extend([flag.to_string(), "x".into()]);
                        }
                    }
                }
                let parsed = Cli::try_parse_ordered(&argv);
                assert!(
                    matches!(
                        parsed,
                        Ok(Cli {
                            command: Some(_),
                            ..
                        })
                    ),
                    "{:?}: {:?}",
                    action.label,
                    parsed.err().map(|e| e.to_string())
                );
            }
        }
    }
}
