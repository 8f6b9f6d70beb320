//! What every command needs: the resolved endpoint, key, profile and output.
//!
//! Precedence, highest first: flags (`--endpoint`, `--api-key`), their
//! environment variables, the selected profile, the built-in default.

use anyhow::Result;
use miniaws_client::Client;
use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::config::{ConfigFile, Profile};
use crate::error::{NO_API_KEY, user};
use crate::output::Output;

/// The endpoint when neither a flag, the environment nor a profile names one.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8080";

/// The resolved settings of one invocation.
pub struct Ctx {
    /// The global flags as given.
    pub global: GlobalArgs,
    /// Where and how to print.
    pub out: Output,
    /// The configuration file's path (empty when there is no
    /// configuration directory: see `no_config_dir`).
    pub config_path: PathBuf,
    /// Why there is no configuration file (no HOME nor XDG_CONFIG_HOME):
    /// commands that save nothing run on flags and environment alone,
    /// and a save fails with this.
    no_config_dir: Option<String>,
    /// Its contents.
    pub config: ConfigFile,
    /// The selected profile's name.
    pub profile_name: String,
}

fn non_empty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

impl Ctx {
    /// Reads the configuration and resolves the profile.
    ///
    /// # Errors
    /// When the configuration file exists but cannot be read.
    pub fn new(global: GlobalArgs, out: Output) -> Result<Self> {
        let (config_path, config, no_config_dir) = match crate::config::config_path() {
            Ok(path) => {
                let config = ConfigFile::load(&path)?;
                (path, config, None)
            }
            // A CI job or a service may have no HOME: `--endpoint` and
            // `--api-key` (or MINIAWS_*) are all most commands need.
            Err(e) => (PathBuf::new(), ConfigFile::default(), Some(e.to_string())),
        };
        let profile_name = config.selected_name(non_empty(&global.profile));
        Ok(Self {
            global,
            out,
            config_path,
            no_config_dir,
            config,
            profile_name,
        })
    }

    /// The selected profile, if saved.
    pub fn profile(&self) -> Option<&Profile> {
        self.config.profile(&self.profile_name)
    }

    /// The server's URL.
    pub fn endpoint(&self) -> String {
        non_empty(&self.global.endpoint)
            .map(str::to_owned)
            .or_else(|| self.profile().and_then(|p| p.endpoint.clone()))
            .unwrap_or_else(|| DEFAULT_ENDPOINT.to_owned())
    }

    /// The API key: `--api-key`/`MINIAWS_API_KEY`, else the profile's.
    pub fn api_key(&self) -> Option<String> {
        non_empty(&self.global.api_key)
            .map(str::to_owned)
            .or_else(|| self.profile().and_then(|p| p.api_key.clone()))
    }

    /// Whether the key in use comes from the profile (not a flag or env).
    pub fn key_from_profile(&self) -> bool {
        non_empty(&self.global.api_key).is_none() && self.api_key().is_some()
    }

    /// A client without a key (sign-up, health).
    ///
    /// # Errors
    /// When the endpoint is not a valid URL.
    pub fn anonymous(&self) -> Result<Client> {
        let client = Client::new(&self.endpoint())?
            .with_answer_timeout(std::time::Duration::from_secs(self.global.timeout));
        Ok(if self.global.verbose {
            let stderr_tty = self.out.stderr_tty;
            client.with_trace(move |line| {
                if stderr_tty {
                    eprintln!("{}", console::style(line).dim());
                } else {
                    eprintln!("{line}");
                }
            })
        } else {
            client
        })
    }

    /// A client with the API key.
    ///
    /// # Errors
    /// "no API key" when there is none; an invalid endpoint.
    pub fn client(&self) -> Result<Client> {
        let key = self.api_key().ok_or_else(|| self.why_no_key())?;
        Ok(self.anonymous()?.with_api_key(key))
    }

    /// "No API key", saying so when the profile named (by `--profile`,
    /// MINIAWS_PROFILE or the file's `active`) is not in the file at all.
    fn why_no_key(&self) -> anyhow::Error {
        if self.profile().is_none() && !self.config.profiles.is_empty() {
            let known: Vec<&str> = self.config.profiles.keys().map(String::as_str).collect();
            return user(format!(
                "no profile \"{}\" in {} (it has {}): pick one with --profile, or pass --api-key",
                self.profile_name,
                self.config_path.display(),
                known.join(", ")
            ));
        }
        user(NO_API_KEY)
    }

    /// Saves `profile` under the selected name and makes it active.
    ///
    /// # Errors
    /// When the configuration file cannot be written.
    pub fn save_profile(&mut self, profile: Profile) -> Result<()> {
        self.config
            .profiles
            .insert(self.profile_name.clone(), profile);
        self.config.active = Some(self.profile_name.clone());
        self.save()
    }

    /// The profile named `name`, if the file has it.
    pub fn named_profile(&self, name: &str) -> Option<&Profile> {
        self.config.profile(name)
    }

    /// Drops the key `key_id` (revoked) from every profile that holds it,
    /// leaving which profile is active as it is; the names of those
    /// profiles (the file is written only when there is one).
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn forget_key(&mut self, key_id: uuid::Uuid) -> Result<Vec<String>> {
        let mut cleared = Vec::new();
        for (name, profile) in &mut self.config.profiles {
            if profile.key_id == Some(key_id) {
                profile.api_key = None;
                profile.key_id = None;
                // The key's AWS pair died with it: `aws-env` must not keep
                // handing it out, nor the file keep its secret.
                profile.aws_access_key_id = None;
                profile.aws_secret_access_key = None;
                cleared.push(name.clone());
            }
        }
        if !cleared.is_empty() {
            self.save()?;
        }
        Ok(cleared)
    }

    /// Writes the configuration file.
    fn save(&self) -> Result<()> {
        match &self.no_config_dir {
            Some(why) => Err(user(format!("{why}: nothing can be saved"))),
            None => self.config.save(&self.config_path),
        }
    }

    /// Saves `profile` under `name` without making it the active one.
    ///
    /// # Errors
    /// When the file cannot be written.
    pub fn save_named_profile(&mut self, name: &str, profile: Profile) -> Result<()> {
        self.config.profiles.insert(name.to_owned(), profile);
        self.save()
    }
}
