//! The command line: every subcommand and flag of `cloud`, as clap derives.

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

/// Examples shown at the end of `cloud --help`.
const EXAMPLES: &str = "\
Examples:
  cloud auth create-demo alice          create a user and save its key
  cloud auth whoami                     who am I, on which server
  cloud compute launch --name web --image nginx:alpine --port 8080:80
  cloud compute list                    instances with their access URLs
  cloud storage upload my-bucket README.md
  cloud storage download my-bucket README.md copy.md
  cloud storage download my-bucket/site/ ./site --recursive
  cloud --json compute list             machine-readable output
  cloud completion bash > ~/.local/share/bash-completion/completions/cloud

Run `cloud` with no arguments in a terminal for an interactive menu.";

/// The Mini AWS command-line client.
///
/// Talks to a `miniaws` server (start one with `miniaws serve`). Settings
/// and keys live in $XDG_CONFIG_HOME/miniaws/config.toml, one profile per
/// server or user.
#[derive(Debug, Parser)]
#[command(name = "cloud", version, after_help = EXAMPLES)]
pub struct Cli {
    /// Flags that apply to every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do; without one, an interactive menu (on a terminal) or
    /// this help.
    #[command(subcommand)]
    pub command: Option<Command>,
}

impl Cli {
    /// Parses the command line, exiting with clap's usage error (status 2)
    /// on a flag that needs `--recursive` without it (`delete --yes`).
    /// clap's `requires` cannot say this: a present argument that conflicts
    /// with `--recursive` (the single key) satisfies it.
    pub fn parse_checked() -> Self {
        let matches = Self::command().get_matches();
        let cli = Self::from_matches(&matches).unwrap_or_else(|e| e.exit());
        if let Err(e) = cli.check() {
            e.exit();
        }
        cli
    }

    /// Parses `argv` as [`parse_checked`](Self::parse_checked) reads the
    /// command line, returning clap's error instead of exiting.
    ///
    /// # Errors
    /// clap's usage errors.
    pub fn try_parse_ordered<I, T>(argv: I) -> Result<Self, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        Self::from_matches(&Self::command().try_get_matches_from(argv)?)
    }

    /// The command from clap's matches, with what derive cannot give:
    /// the order of `sync`'s `--exclude` and `--include` among each other
    /// (the last one matching a path decides, as in `aws s3 sync`).
    fn from_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let mut cli = Self::from_arg_matches(matches)?;
        let sync = matches
            .subcommand_matches("storage")
            .and_then(|m| m.subcommand_matches("sync"));
        if let (
            Some(Command::Storage(StorageCommand::Sync {
                exclude,
                include,
                filters,
                ..
            })),
            Some(m),
        ) = (&mut cli.command, sync)
        {
            let at = |id: &str| -> Vec<usize> {
                m.indices_of(id).map(Iterator::collect).unwrap_or_default()
            };
            *filters = order_filters(exclude, &at("exclude"), include, &at("include"));
        }
        // `exec --timeout` is, to clap, the global `--timeout` (one name,
        // one argument), whose `MINIAWS_TIMEOUT` bounds the quick calls:
        // only a value typed on the command line is the exec's.
        let exec = matches
            .subcommand_matches("compute")
            .and_then(|m| m.subcommand_matches("exec"));
        if let (Some(Command::Compute(ComputeCommand::Exec { timeout, .. })), Some(m)) =
            (&mut cli.command, exec)
            && m.value_source("timeout") != Some(clap::parser::ValueSource::CommandLine)
        {
            *timeout = EXEC_TIMEOUT_SECS;
        }
        Ok(cli)
    }

    /// The rules [`parse_checked`](Self::parse_checked) adds to clap's.
    ///
    /// # Errors
    /// A usage error naming the flag.
    pub fn check(&self) -> Result<(), clap::Error> {
        let flag = match &self.command {
            Some(Command::Storage(StorageCommand::Delete {
                yes: true,
                recursive: false,
                ..
            })) => "--yes",
            Some(Command::Storage(StorageCommand::Delete {
                all_versions: true,
                recursive: false,
                ..
            })) => "--all-versions",
            _ => return Ok(()),
        };
        Err(<Self as clap::CommandFactory>::command().error(
            clap::error::ErrorKind::MissingRequiredArgument,
            format!("{flag} applies only with --recursive"),
        ))
    }
}

/// Flags accepted before or after any subcommand.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// The miniaws server [default: the profile's endpoint, else
    /// http://127.0.0.1:8080]
    #[arg(
        long,
        env = "MINIAWS_ENDPOINT",
        global = true,
        value_name = "URL",
        help_heading = "Global options"
    )]
    pub endpoint: Option<String>,
    /// The API key to use instead of the profile's
    #[arg(
        long,
        short = 'k',
        env = "MINIAWS_API_KEY",
        global = true,
        hide_env_values = true,
        value_name = "KEY",
        value_parser = non_blank_key,
        help_heading = "Global options"
    )]
    pub api_key: Option<String>,
    /// The configuration profile to use [default: the active profile, else
    /// "default"]
    #[arg(
        long,
        env = "MINIAWS_PROFILE",
        global = true,
        value_name = "NAME",
        help_heading = "Global options"
    )]
    pub profile: Option<String>,
    /// Print the API's data as JSON (stable, for scripts)
    #[arg(long, short = 'j', global = true, help_heading = "Global options")]
    pub json: bool,
    /// Show each HTTP exchange on stderr (secrets redacted)
    #[arg(long, short = 'v', global = true, help_heading = "Global options")]
    pub verbose: bool,
    /// Seconds to wait for the server's answer to a quick call (a listing,
    /// a show, a key or bucket change) before giving up; launches, stops,
    /// exec, uploads and downloads take as long as their work
    #[arg(
        long,
        env = "MINIAWS_TIMEOUT",
        global = true,
        value_name = "SECS",
        default_value_t = 60,
        value_parser = clap::value_parser!(u64).range(1..),
        help_heading = "Global options"
    )]
    pub timeout: u64,
}

/// How long `compute exec` waits for its command unless told otherwise.
pub const EXEC_TIMEOUT_SECS: u64 = 60;

/// The command groups.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Users, API keys and profiles
    #[command(subcommand)]
    Auth(AuthCommand),
    /// Compute instances (Docker containers)
    #[command(subcommand)]
    Compute(ComputeCommand),
    /// Object storage: buckets and objects
    #[command(subcommand)]
    Storage(StorageCommand),
    /// Print a shell completion script
    Completion {
        /// The shell to complete for
        shell: CompletionShell,
    },
}

/// `cloud auth …`
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Create a user and its first API key, and save the key as the active
    /// profile
    CreateDemo {
        /// The user name (1–63 characters of a-z A-Z 0-9 - _ .)
        name: String,
        /// Replace the key already saved in the profile
        #[arg(long)]
        force: bool,
    },
    /// Save an existing API key (checked with the server) as the active
    /// profile
    Login {
        /// The key (`mk_…`); `-` reads it from standard input, which keeps it
        /// out of the shell history
        key: String,
    },
    /// Show the user and key in use
    Whoami,
    /// Print the shell variables that point the aws CLI, boto3 and the AWS
    /// SDKs at this server with this profile's key
    #[command(
        after_help = "Examples:\n  eval \"$(cloud auth aws-env)\"\n  aws s3 ls\n  cloud auth aws-env --aws-endpoint http://127.0.0.1:4600\n\nThe profile keeps a key's AWS secret only when the key was created by\n`cloud auth create-demo` or `cloud auth keys create --save-as`: the server\nshows a secret once, at creation."
    )]
    AwsEnv {
        /// The S3 endpoint [default: the profile's endpoint with port 4566,
        /// the server's default --aws-listen]
        #[arg(long, value_name = "URL")]
        aws_endpoint: Option<String>,
    },
    /// Manage the user's API keys
    #[command(subcommand)]
    Keys(KeysCommand),
}

/// `cloud auth keys …`
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// List the user's keys (never their secrets)
    #[command(visible_alias = "ls")]
    List,
    /// Create another key for the same user; its secrets are shown once
    Create {
        /// A label for the key
        name: String,
        /// Also save the new key (and its AWS key pair) as this profile,
        /// which must not hold a key yet; the active profile stays active
        #[arg(long, value_name = "PROFILE")]
        save_as: Option<String>,
    },
    /// Revoke a key by id, name or unique id prefix
    #[command(visible_alias = "rm")]
    Revoke {
        /// The key's id, name, or a unique prefix of its id
        id: String,
        /// Allow revoking the user's last key
        #[arg(long)]
        force: bool,
    },
}

/// `cloud compute …`
#[derive(Debug, Subcommand)]
pub enum ComputeCommand {
    /// Launch an instance from a container image
    #[command(
        after_help = "Example:\n  cloud compute launch --name web --image nginx:alpine --port 8080:80\n  cloud compute launch --name job --image busybox -- sh -c 'echo hi'"
    )]
    Launch {
        /// The instance name (unique among your live instances)
        #[arg(long)]
        name: String,
        /// The container image, e.g. nginx:alpine
        #[arg(long)]
        image: String,
        /// Publish a port: HOST:CONTAINER, CONTAINER (any free host port),
        /// optionally /tcp or /udp; repeatable
        #[arg(long = "port", short = 'p', value_name = "SPEC")]
        ports: Vec<String>,
        /// An environment variable K=V; repeatable
        #[arg(long = "env", short = 'e', value_name = "K=V", value_parser = parse_env)]
        env: Vec<(String, String)>,
        /// A tag K=V (shown by `show`, and as the instance's tags through
        /// the EC2 API); repeatable
        #[arg(long = "tag", value_name = "K=V", value_parser = parse_env)]
        tags: Vec<(String, String)>,
        /// The instance type (t3.nano … t3.2xlarge, t2.nano … t2.2xlarge) [default: the server's, t3.micro]
        #[arg(long = "type", short = 't', value_name = "TYPE")]
        instance_type: Option<String>,
        /// Make the launch idempotent: the same key and launch, sent again
        /// (after a lost answer or a server restart), show the instance the
        /// first one made instead of launching another; 1–64 printable
        /// ASCII characters [default: a fresh key for each command]
        #[arg(long, value_name = "KEY")]
        idempotency_key: Option<String>,
        /// The command to run instead of the image's, after `--`
        #[arg(last = true, value_name = "CMD ARGS")]
        command: Vec<String>,
    },
    /// List instances
    #[command(visible_alias = "ls")]
    List {
        /// Include terminated instances
        #[arg(long, short = 'a')]
        all: bool,
    },
    /// Show one instance in detail
    #[command(visible_alias = "describe")]
    Show {
        /// Id, unique id prefix, or name
        instance: String,
    },
    /// Rename an instance or change its type (the instance must be stopped;
    /// its next start gets the new type's limits)
    #[command(
        after_help = "Example:\n  cloud compute stop web && cloud compute modify web --type t3.large && cloud compute start web\n  cloud compute modify web --name api"
    )]
    Modify {
        /// Id, unique id prefix, or name
        instance: String,
        /// The new instance type
        #[arg(long = "type", short = 't', value_name = "TYPE")]
        instance_type: Option<String>,
        /// The new name
        #[arg(long)]
        name: Option<String>,
    },
    /// Set or remove tags of an instance (terminated ones too)
    #[command(
        after_help = "Example:\n  cloud compute tag web env=prod team=ops\n  cloud compute tag web --remove team"
    )]
    Tag {
        /// Id, unique id prefix, or name
        instance: String,
        /// Tags to set, K=V
        #[arg(value_name = "K=V", value_parser = parse_env)]
        set: Vec<(String, String)>,
        /// A tag to remove; repeatable
        #[arg(long = "remove", value_name = "K")]
        remove: Vec<String>,
    },
    /// Start a stopped instance
    Start {
        /// Id, unique id prefix, or name
        instance: String,
    },
    /// Stop a running instance
    Stop {
        /// Id, unique id prefix, or name
        instance: String,
    },
    /// Restart a running instance
    Reboot {
        /// Id, unique id prefix, or name
        instance: String,
    },
    /// Terminate an instance: its container is removed for good
    #[command(visible_alias = "rm")]
    Terminate {
        /// Id, unique id prefix, or name
        instance: String,
    },
    /// Print an instance's output (stdout and stderr)
    Logs {
        /// Id, unique id prefix, or name
        instance: String,
        /// Keep printing new output until the instance stops or Ctrl-C
        #[arg(long, short = 'f')]
        follow: bool,
        /// Only the last N lines
        #[arg(long, short = 'n', value_name = "N")]
        tail: Option<u32>,
    },
    /// List the images Docker has, which `launch --image` uses without
    /// pulling
    Images,
    /// Show an instance's CPU, memory and network use
    Stats {
        /// Id, unique id prefix, or name
        instance: String,
    },
    /// Run a command in a running instance, its output shown as it comes
    #[command(
        after_help = "The command runs without a shell (use `sh -c '…'` for one), without \
stdin or a TTY unless asked. `cloud` exits with the command's exit code (124 when the wait times \
out; the command may then still be running).

With -t the command gets a terminal, as with `docker exec -t`, and with -it what you type goes \
to it as you type it (your terminal is in raw mode meanwhile: Ctrl-C goes to the command). \
There is no --timeout then: the session lasts until the command exits, and a command whose \
session ends first (the connection drops, `cloud` is killed) is killed with what it started. \
-it needs a terminal on cloud's stdin (\"the input device is not a TTY\" otherwise, as \
docker says).

Example:
  cloud compute exec web -- ls -l /
  cloud compute exec web -e MODE=debug -w /tmp -- sh -c 'echo $MODE; pwd'
  cloud compute exec web -i -- sh < setup.sh
  cloud compute exec -it web -- sh"
    )]
    Exec {
        /// Id, unique id prefix, or name
        instance: String,
        /// An environment variable K=V for the command; repeatable
        #[arg(long = "env", short = 'e', value_name = "K=V", value_parser = parse_env)]
        env: Vec<(String, String)>,
        /// The directory to run in (absolute) [default: the image's]
        #[arg(long, short = 'w', value_name = "DIR")]
        workdir: Option<String>,
        /// The user to run as: user, user:group, uid or uid:gid [default: the image's]
        #[arg(long, short = 'u')]
        user: Option<String>,
        /// Stop waiting after this many seconds (1–3600); MINIAWS_TIMEOUT
        /// does not change it
        #[arg(
            long,
            value_name = "SECS",
            default_value_t = EXEC_TIMEOUT_SECS,
            value_parser = clap::value_parser!(u64).range(1..=3600)
        )]
        timeout: u64,
        /// Give the command cloud's standard input (read to its end first, at most 512 KiB);
        /// with -t, what you type, as you type it
        #[arg(long, short = 'i')]
        stdin: bool,
        /// Run the command in a terminal (a TTY), as `docker exec -t`; `-it` for an
        /// interactive shell
        #[arg(long, short = 't')]
        tty: bool,
        /// The program and its arguments, after `--`
        #[arg(last = true, required = true, value_name = "CMD ARGS")]
        command: Vec<String>,
    },
}

/// Parses `K=V` for `--env`.
fn parse_env(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected K=V (got {s:?})")),
    }
}

/// One `--exclude` or `--include` of `sync`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathFilter {
    /// Leave out what matches.
    Exclude(String),
    /// Take back in what matches.
    Include(String),
}

/// The filters in command-line order, from each flag's values and clap's
/// indices of them (values without an index, as when parsed without
/// them, keep excludes before includes).
pub fn order_filters(
    exclude: &[String],
    exclude_at: &[usize],
    include: &[String],
    include_at: &[usize],
) -> Vec<PathFilter> {
    let mut all: Vec<(usize, PathFilter)> = Vec::new();
    for (i, g) in exclude.iter().enumerate() {
        let at = exclude_at.get(i).copied().unwrap_or(i);
        all.push((at, PathFilter::Exclude(g.clone())));
    }
    for (i, g) in include.iter().enumerate() {
        let at = include_at.get(i).copied().unwrap_or(usize::MAX / 2 + i);
        all.push((at, PathFilter::Include(g.clone())));
    }
    all.sort_by_key(|(at, _)| *at);
    all.into_iter().map(|(_, f)| f).collect()
}

/// `--api-key`: a blank key is a mistake (an unset variable in a script),
/// not a request for the profile's key, which it would quietly stand for.
fn non_blank_key(arg: &str) -> Result<String, String> {
    if arg.trim().is_empty() {
        return Err(
            "the key is blank: give a key, or leave out --api-key (and unset MINIAWS_API_KEY) to use the profile's".into(),
        );
    }
    Ok(arg.to_owned())
}

/// A bucket argument: `s3://BUCKET` (and `s3://BUCKET/`, as `aws s3 mb`
/// takes it) is read as `BUCKET`. A bucket name never holds `:`, so the
/// scheme cannot be part of one.
fn bucket_arg(arg: &str) -> Result<String, std::convert::Infallible> {
    Ok(match arg.strip_prefix("s3://") {
        Some(rest) => rest.strip_suffix('/').unwrap_or(rest).to_owned(),
        None => arg.to_owned(),
    })
}

/// A `BUCKET[/PREFIX]` or `BUCKET/KEY` argument: `s3://…` is read without
/// its scheme, so the `aws s3` spelling works here too.
fn target_arg(arg: &str) -> Result<String, std::convert::Infallible> {
    Ok(arg.strip_prefix("s3://").unwrap_or(arg).to_owned())
}

/// `cloud storage …`
#[derive(Debug, Subcommand)]
pub enum StorageCommand {
    /// Make a bucket
    Mb {
        /// The bucket name (3–63 characters: a-z 0-9 . -)
        #[arg(value_parser = bucket_arg)]
        bucket: String,
    },
    /// Remove an empty bucket
    Rb {
        /// The bucket name
        #[arg(value_parser = bucket_arg)]
        bucket: String,
    },
    /// List buckets, or the objects in BUCKET[/PREFIX]
    #[command(visible_alias = "list")]
    Ls {
        /// A bucket, optionally with a key prefix: my-bucket/photos/
        #[arg(value_parser = target_arg)]
        target: Option<String>,
        /// List every version and delete marker instead of the current
        /// objects (newest first within a key)
        #[arg(long, requires = "target")]
        versions: bool,
    },
    /// Show an object's size, type, ETag, version, metadata and stored
    /// headers (HEAD: no bytes are fetched)
    #[command(visible_alias = "info")]
    Stat {
        /// The bucket
        #[arg(value_parser = bucket_arg)]
        bucket: String,
        /// The object key
        key: String,
        /// This version of the object (an id from `ls --versions`)
        #[arg(long, value_name = "ID")]
        version_id: Option<String>,
    },
    /// Show a bucket's versioning, or turn it on (enable) or pause it
    /// (suspend); a bucket once versioned never goes back to unversioned
    #[command(
        after_help = "Examples:\n  cloud storage versioning my-bucket\n  cloud storage versioning my-bucket enable\n  cloud storage ls my-bucket --versions\n  cloud storage download my-bucket README.md old.md --version-id <id>\n  cloud storage delete my-bucket --recursive --all-versions --yes"
    )]
    Versioning {
        /// The bucket
        #[arg(value_parser = bucket_arg)]
        bucket: String,
        /// The state to set
        #[arg(value_enum)]
        state: Option<VersioningState>,
    },
    /// Upload a file (or, with --recursive, a directory tree)
    #[command(
        after_help = "Examples:\n  cloud storage upload my-bucket README.md\n  cloud storage upload my-bucket ./site --recursive --key www/\n  cloud storage upload my-bucket ./photos --recursive --no-overwrite"
    )]
    Upload {
        /// The bucket (created if it does not exist yet)
        #[arg(value_parser = bucket_arg)]
        bucket: String,
        /// The file or directory to upload
        path: std::path::PathBuf,
        /// The object key [default: the file's name]; with --recursive, the
        /// key prefix [default: the directory's name]
        #[arg(long)]
        key: Option<String>,
        /// Upload every file under the directory, keys prefixed
        #[arg(long, short = 'r')]
        recursive: bool,
        /// The media type [default: guessed by the server from the key]
        #[arg(long, value_name = "TYPE")]
        content_type: Option<String>,
        /// Limit the transfer rate (bytes per second: 512K, 10M, …)
        #[arg(long, value_name = "RATE", value_parser = crate::transfer::parse_rate)]
        limit_rate: Option<u64>,
        /// Never replace an object that already exists: such files are
        /// skipped and reported (the server checks atomically with the write)
        #[arg(long)]
        no_overwrite: bool,
    },
    /// Download an object to a file (`-` for stdout), or with --recursive
    /// every object under a prefix into a directory
    #[command(
        after_help = "Examples:\n  cloud storage download my-bucket README.md copy.md\n  cloud storage download my-bucket README.md copy.md --no-overwrite\n  cloud storage download my-bucket/www/ ./site --recursive\n  cloud storage download my-bucket ./backup -r --no-overwrite\n\nWith --recursive, each key's part after the prefix becomes a path under\nDIR. Keys that are not plain relative paths (`..`, `.` or empty segments,\na leading `/`, a backslash, NUL or another control character, a\nbidirectional control or other invisible format character) are refused\nand reported; nothing is ever written outside DIR, nor through a\nsymbolic link. A key whose path differs only in case from one already\ndownloaded (`README`, `readme`: one file on macOS or Windows) is not\ndownloaded over it, and is reported."
    )]
    Download {
        /// The bucket; with --recursive, BUCKET[/PREFIX] as `ls` takes it
        /// (a prefix names a folder: `photos` means `photos/`)
        #[arg(value_name = "BUCKET", value_parser = target_arg)]
        bucket: String,
        /// The object key; with --recursive, the directory to download
        /// into (created if needed)
        #[arg(value_name = "KEY|DIR")]
        key: String,
        /// Where to write [default: the key's last segment, in the current
        /// directory]; an existing directory receives the key's last segment
        #[arg(conflicts_with = "recursive")]
        dest: Option<std::path::PathBuf>,
        /// Download every object under BUCKET[/PREFIX] into DIR
        #[arg(long, short = 'r')]
        recursive: bool,
        /// Never replace a file that exists: a single download refuses
        /// (exit 1); with --recursive, such files are skipped and reported.
        /// A file created meanwhile is not replaced either
        #[arg(long)]
        no_overwrite: bool,
        /// Limit the transfer rate (bytes per second: 512K, 10M, …)
        #[arg(long, value_name = "RATE", value_parser = crate::transfer::parse_rate)]
        limit_rate: Option<u64>,
        /// Download this version of the object (an id from `ls --versions`)
        #[arg(long, value_name = "ID", conflicts_with = "recursive")]
        version_id: Option<String>,
    },
    /// Make a bucket prefix hold what a directory (or another bucket
    /// prefix) holds, or the other way round, transferring only new and
    /// changed files
    #[command(
        after_help = "Examples:\n  cloud storage sync ./site s3://my-bucket/www\n  cloud storage sync s3://my-bucket/www ./site --delete\n  cloud storage sync ./photos s3://photos --exclude '*' --include '*.jpg' --dry-run\n  cloud storage sync s3://photos s3://backup/photos\n\nA bucket side is written s3://BUCKET[/PREFIX]; the other side is a\nlocal directory or another bucket (copied on the server). A file is transferred when the other side lacks it or\nholds different bytes: a different size, or an MD5 other than the\nobject's ETag (for an object from a multipart upload, whose ETag is no\nMD5: a source newer than the destination's copy). --delete removes from\nthe destination what the source lacks (folder markers and excluded\npaths are kept). Downloads follow the rules of download --recursive:\nunsafe keys are refused, nothing is written outside DIR or through a\nsymbolic link."
    )]
    Sync {
        /// A directory, or s3://BUCKET[/PREFIX]
        #[arg(value_name = "SOURCE")]
        source: String,
        /// s3://BUCKET[/PREFIX], or a directory (created if needed)
        #[arg(value_name = "DEST")]
        dest: String,
        /// Delete from DEST what SOURCE does not hold
        #[arg(long)]
        delete: bool,
        /// Show what would be transferred and deleted; change nothing
        #[arg(long, short = 'n')]
        dry_run: bool,
        /// Leave out paths matching GLOB (relative to the directory and the
        /// prefix; `*` also matches `/`): never transferred, never deleted.
        /// Repeatable
        #[arg(long, value_name = "GLOB")]
        exclude: Vec<String>,
        /// Take back in paths matching GLOB that an earlier --exclude left
        /// out: the last --exclude or --include that matches a path decides
        /// (`--exclude '*' --include '*.html'`: HTML files only). Repeatable
        #[arg(long, value_name = "GLOB")]
        include: Vec<String>,
        /// The --exclude and --include in command-line order (filled by
        /// `Cli::parse_checked`; empty when parsed without it).
        #[arg(skip)]
        filters: Vec<PathFilter>,
        /// Limit the transfer rate (bytes per second: 512K, 10M, …)
        #[arg(long, value_name = "RATE", value_parser = crate::transfer::parse_rate)]
        limit_rate: Option<u64>,
    },
    /// Copy an object on the server (no bytes pass through `cloud`), or
    /// with --recursive every object under a prefix
    #[command(
        visible_alias = "cp",
        after_help = "Examples:\n  cloud storage copy my-bucket/README.md backup            (backup/README.md)\n  cloud storage copy my-bucket/README.md my-bucket/old.md\n  cloud storage copy my-bucket/a/b.txt backup/2026/        (backup/2026/b.txt)\n  cloud storage copy my-bucket/site backup/site --recursive\n  cloud storage copy my-bucket/README.md my-bucket/README.md --version-id <id>   (restore a version)\n\nThe destination bucket must exist. Content type, metadata and tags are\ncopied with the bytes."
    )]
    Copy {
        /// The object, BUCKET/KEY; with --recursive, BUCKET[/PREFIX]
        #[arg(value_name = "SOURCE", value_parser = target_arg)]
        source: String,
        /// BUCKET/KEY, or BUCKET or BUCKET/PREFIX/ to keep the key's last
        /// segment; with --recursive, BUCKET[/PREFIX]
        #[arg(value_name = "DEST", value_parser = target_arg)]
        dest: String,
        /// Copy every object under SOURCE's prefix, each key's part below
        /// it kept under DEST's
        #[arg(long, short = 'r')]
        recursive: bool,
        /// Never replace an object that exists at the destination (checked
        /// by the server atomically with the copy); such objects are skipped
        #[arg(long)]
        no_overwrite: bool,
        /// Copy this version of the object (an id from `ls --versions`);
        /// copied onto its own key, it becomes the current version again
        #[arg(long, value_name = "ID", conflicts_with = "recursive")]
        version_id: Option<String>,
    },
    /// Move an object (a copy on the server, then the source's deletion),
    /// or with --recursive every object under a prefix
    #[command(
        visible_alias = "mv",
        after_help = "Examples:\n  cloud storage move my-bucket/draft.md my-bucket/posts/\n  cloud storage move my-bucket/tmp archive/2026 --recursive\n\nEach source is deleted only once its copy is made, so an interrupted move\nleaves the sources not yet copied where they were. In a versioned bucket\nthe deletion leaves a delete marker, as any delete does."
    )]
    Move {
        /// The object, BUCKET/KEY; with --recursive, BUCKET[/PREFIX]
        #[arg(value_name = "SOURCE", value_parser = target_arg)]
        source: String,
        /// BUCKET/KEY, or BUCKET or BUCKET/PREFIX/ to keep the key's last
        /// segment; with --recursive, BUCKET[/PREFIX]
        #[arg(value_name = "DEST", value_parser = target_arg)]
        dest: String,
        /// Move every object under SOURCE's prefix
        #[arg(long, short = 'r')]
        recursive: bool,
        /// Never replace an object that exists at the destination: such
        /// objects are skipped and their sources kept
        #[arg(long)]
        no_overwrite: bool,
    },
    /// Delete an object, or with --recursive every object under a prefix
    #[command(
        visible_alias = "rm",
        after_help = "Examples:\n  cloud storage delete my-bucket README.md\n  cloud storage delete my-bucket/logs/ --recursive\n  cloud storage delete my-bucket --recursive --yes     (the whole bucket)\n\nWith --recursive, `cloud` counts the objects and asks before deleting\nthem; without a terminal it refuses unless --yes is given."
    )]
    Delete {
        /// The bucket; with --recursive, BUCKET[/PREFIX] as `ls` takes it
        /// (no prefix: every object in the bucket)
        #[arg(value_name = "BUCKET", value_parser = target_arg)]
        bucket: String,
        /// The object key
        #[arg(required_unless_present = "recursive", conflicts_with = "recursive")]
        key: Option<String>,
        /// Delete every object under BUCKET[/PREFIX]
        #[arg(long, short = 'r')]
        recursive: bool,
        /// With --recursive: do not ask for confirmation (needed when not on
        /// a terminal); a single key is never asked about
        #[arg(long, short = 'y')]
        yes: bool,
        /// Delete this version of the object for good (an id from `ls
        /// --versions`); without it, a versioned bucket keeps the object's
        /// versions behind a delete marker
        #[arg(long, value_name = "ID", conflicts_with = "recursive")]
        version_id: Option<String>,
        /// With --recursive: delete every version and delete marker under
        /// the prefix for good (what `rb` needs of a versioned bucket)
        #[arg(long)]
        all_versions: bool,
    },
}

/// What `cloud storage versioning BUCKET STATE` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VersioningState {
    /// Keep every version of every object
    Enable,
    /// Stop making new versions (the ones kept stay)
    Suspend,
}

/// Shells `cloud completion` knows.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum CompletionShell {
    /// GNU bash
    Bash,
    /// Z shell
    Zsh,
    /// fish
    Fish,
}

#[cfg(test)]
mod tests {

    #[test]
    fn a_blank_api_key_is_refused() {
        for blank in ["", " ", "\t"] {
            let err = Cli::try_parse_ordered(["cloud", "--api-key", blank, "auth", "whoami"])
                .map(|_| ())
                .expect_err("refused");
            assert!(err.to_string().contains("the key is blank"), "{err}");
        }
        assert!(Cli::try_parse_ordered(["cloud", "-k", "mk_x", "auth", "whoami"]).is_ok());
    }

    #[test]
    fn bucket_arguments_take_the_s3_spelling() {
        let parse = |args: &[&str]| {
            Cli::try_parse_ordered(["cloud", "storage"].iter().chain(args))
                .expect("parses")
                .command
        };
        let Some(Command::Storage(StorageCommand::Ls {
            target: Some(target),
            ..
        })) = parse(&["ls", "s3://b/photos/"])
        else {
            panic!("an ls");
        };
        assert_eq!(target, "b/photos/");
        for mb in ["s3://b", "s3://b/", "b"] {
            let Some(Command::Storage(StorageCommand::Mb { bucket })) = parse(&["mb", mb]) else {
                panic!("an mb");
            };
            assert_eq!(bucket, "b", "{mb}");
        }
        let Some(Command::Storage(StorageCommand::Copy { source, dest, .. })) =
            parse(&["copy", "s3://a/k", "s3://b/"])
        else {
            panic!("a copy");
        };
        assert_eq!((source.as_str(), dest.as_str()), ("a/k", "b/"));
        // Only the scheme goes: a key may well hold `s3://`.
        let Some(Command::Storage(StorageCommand::Download { bucket, key, .. })) =
            parse(&["download", "s3://b", "s3://k"])
        else {
            panic!("a download");
        };
        assert_eq!((bucket.as_str(), key.as_str()), ("b", "s3://k"));
    }

    #[test]
    fn sync_filters_keep_their_command_line_order() {
        let cli = Cli::try_parse_ordered([
            "cloud",
            "storage",
            "sync",
            "site",
            "s3://b",
            "--include",
            "*.html",
            "--exclude",
            "*",
            "--include",
            "index.html",
        ])
        .expect("parses");
        let Some(Command::Storage(StorageCommand::Sync { filters, .. })) = cli.command else {
            panic!("a sync");
        };
        assert_eq!(
            filters,
            [
                PathFilter::Include("*.html".into()),
                PathFilter::Exclude("*".into()),
                PathFilter::Include("index.html".into()),
            ]
        );
        // Without indices: excludes, then includes.
        assert_eq!(
            order_filters(&["a".into()], &[], &["b".into()], &[]),
            [
                PathFilter::Exclude("a".into()),
                PathFilter::Include("b".into())
            ]
        );
    }
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn yes_needs_recursive_and_no_overwrite_does_not() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).expect("parses");
        let err = parse(&["cloud", "storage", "delete", "b", "k", "--yes"])
            .check()
            .expect_err("refused");
        assert!(
            err.to_string()
                .contains("--yes applies only with --recursive"),
            "{err}"
        );
        let err = parse(&["cloud", "storage", "delete", "b", "k", "--all-versions"])
            .check()
            .expect_err("refused");
        assert!(
            err.to_string()
                .contains("--all-versions applies only with --recursive"),
            "{err}"
        );
        for args in [
            &["cloud", "storage", "delete", "b", "--recursive", "--yes"][..],
            &["cloud", "storage", "delete", "b", "-r", "--all-versions"][..],
            &["cloud", "storage", "delete", "b", "k"][..],
            &[
                "cloud",
                "storage",
                "download",
                "b",
                "k",
                "dest",
                "--no-overwrite",
            ][..],
            &["cloud", "storage", "download", "b", "k", "--no-overwrite"][..],
            &[
                "cloud",
                "storage",
                "download",
                "b",
                "dir",
                "-r",
                "--no-overwrite",
            ][..],
        ] {
            parse(args).check().expect("accepted");
        }
        let single = parse(&[
            "cloud",
            "storage",
            "download",
            "b",
            "k",
            "f",
            "--no-overwrite",
        ]);
        assert!(matches!(
            single.command,
            Some(Command::Storage(StorageCommand::Download {
                no_overwrite: true,
                recursive: false,
                ..
            }))
        ));
    }

    #[test]
    fn global_flags_go_anywhere() {
        let cli =
            Cli::try_parse_from(["cloud", "auth", "whoami", "-j", "--endpoint", "http://h:1"])
                .expect("parses");
        assert!(cli.global.json);
        assert_eq!(cli.global.endpoint.as_deref(), Some("http://h:1"));
    }
}
