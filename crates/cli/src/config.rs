//! The configuration file: `$XDG_CONFIG_HOME/miniaws/config.toml`.
//!
//! It holds named profiles (endpoint + API key) and which one is active.
//! It contains secrets, so it is written with mode 0600 (its directory
//! 0700), atomically: a temporary file in the same directory, flushed, then
//! renamed over the old one, so an interrupted write never leaves half a
//! file.

use anyhow::{Context, Result, anyhow};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

/// The profile used when none is named and none is active.
pub const DEFAULT_PROFILE: &str = "default";

/// The whole file.
///
/// Fields this version does not know (written by a newer `cloud`) are kept
/// as they are and written back, so switching between versions loses
/// nothing; hence no `deny_unknown_fields`.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct ConfigFile {
    /// The profile used when `--profile` is not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<String>,
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, Profile>,
    /// Fields of a newer `cloud`, kept for it.
    #[serde(flatten)]
    pub unknown: BTreeMap<String, toml::Value>,
}

/// One server + key. Unknown fields are kept, as in [`ConfigFile`].
#[derive(Default, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// The server's base URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// The API key (`mk_…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// The id of that key, to mark it in listings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<uuid::Uuid>,
    /// The user the key belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The key's AWS access key id (for `cloud auth aws-env`), kept when
    /// the key was created here: the server shows its secret only then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_access_key_id: Option<String>,
    /// The key's AWS secret access key, kept with the access key id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_secret_access_key: Option<String>,
    /// Fields of a newer `cloud`, kept for it (they may hold secrets:
    /// `Debug` shows their names only).
    #[serde(flatten)]
    pub unknown: BTreeMap<String, toml::Value>,
}

impl std::fmt::Debug for Profile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Profile")
            .field("endpoint", &self.endpoint)
            .field(
                "api_key",
                &self.api_key.as_deref().map(miniaws_client::redact_key),
            )
            .field("key_id", &self.key_id)
            .field("user", &self.user)
            .field("aws_access_key_id", &self.aws_access_key_id)
            .field(
                "aws_secret_access_key",
                &self.aws_secret_access_key.as_ref().map(|_| "…"),
            )
            .field("unknown", &self.unknown.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// Where the file lives: `$XDG_CONFIG_HOME/miniaws/config.toml`, else
/// `$HOME/.config/miniaws/config.toml` (the XDG default).
///
/// # Errors
/// When neither variable gives an absolute directory.
pub fn config_path() -> Result<PathBuf> {
    let from = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = from("XDG_CONFIG_HOME")
        .or_else(|| from("HOME").map(|home| home.join(".config")))
        .ok_or_else(|| {
            anyhow!("cannot find a configuration directory: set XDG_CONFIG_HOME or HOME")
        })?;
    Ok(base.join("miniaws").join("config.toml"))
}

impl ConfigFile {
    /// Reads `path`; a missing file is an empty configuration.
    ///
    /// # Errors
    /// When the file cannot be read or is not valid.
    pub fn load(path: &Path) -> Result<Self> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Self::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        toml::from_str(&text).map_err(|e| {
            anyhow!(
                "{} is not a valid cloud configuration ({}): fix it or move it away",
                path.display(),
                e.message()
            )
        })
    }

    /// Writes the file atomically with mode 0600.
    ///
    /// # Errors
    /// When the directory or file cannot be written.
    pub fn save(&self, path: &Path) -> Result<()> {
        let dir = path
            .parent()
            .ok_or_else(|| anyhow!("{} has no parent directory", path.display()))?;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let text = toml::to_string_pretty(self).context("cannot serialise the configuration")?;
        let tmp = dir.join(format!(".config.toml.{}.tmp", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&tmp)?;
            // The mode above is masked by the umask; make sure.
            file.set_permissions(std::fs::Permissions::from_mode(0o600))?;
            file.write_all(
                b"# Written by `cloud`. Holds API keys: keep it private (mode 0600).\n",
            )?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            anyhow!("cannot write {}: {e}", path.display())
        })
    }

    /// The profile named `name`, if saved.
    pub fn profile(&self, name: &str) -> Option<&Profile> {
        self.profiles.get(name)
    }

    /// The profile to use: `explicit` (from `--profile`), else the active
    /// one, else [`DEFAULT_PROFILE`].
    pub fn selected_name(&self, explicit: Option<&str>) -> String {
        explicit
            .map(str::to_owned)
            .or_else(|| self.active.clone())
            .unwrap_or_else(|| DEFAULT_PROFILE.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_with_private_mode() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("miniaws").join("config.toml");
        assert!(
            ConfigFile::load(&path)
                .expect("missing is empty")
                .profiles
                .is_empty()
        );
        let mut cfg = ConfigFile {
            active: Some("work".into()),
            ..ConfigFile::default()
        };
        cfg.profiles.insert(
            "work".into(),
            Profile {
                endpoint: Some("http://127.0.0.1:9".into()),
                api_key: Some("mk_0123456789abcdef".into()),
                key_id: None,
                user: Some("alice".into()),
                ..Profile::default()
            },
        );
        cfg.save(&path).expect("saves");
        let mode = std::fs::metadata(&path)
            .expect("exists")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let back = ConfigFile::load(&path).expect("loads");
        assert_eq!(back.selected_name(None), "work");
        assert_eq!(back.selected_name(Some("x")), "x");
        assert_eq!(
            back.profile("work").and_then(|p| p.api_key.as_deref()),
            Some("mk_0123456789abcdef")
        );
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().expect("dir"))
            .expect("lists")
            .collect();
        assert_eq!(leftovers.len(), 1, "no temporary file is left behind");
    }

    #[test]
    fn debug_hides_the_key() {
        let p = Profile {
            api_key: Some("mk_0123456789abcdef".into()),
            aws_secret_access_key: Some("wJalrXUtnFEMIEXAMPLEKEY".into()),
            ..Profile::default()
        };
        let shown = format!("{p:?}");
        assert!(!shown.contains("0123456789abcdef"), "{shown}");
        assert!(!shown.contains("EXAMPLEKEY"), "{shown}");
    }

    #[test]
    fn fields_of_a_newer_version_are_kept() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.toml");
        std::fs::write(
            &path,
            "active = \"work\"\ntheme = \"dark\"\n\n[profiles.work]\nendpoint = \"http://127.0.0.1:9\"\nregion = \"eu-west-1\"\n\n[profiles.work.future]\ntoken = \"s3cr3t\"\n",
        )
        .expect("writes");
        let mut cfg = ConfigFile::load(&path).expect("a newer file loads");
        let work = cfg.profiles.get_mut("work").expect("the profile");
        assert_eq!(work.endpoint.as_deref(), Some("http://127.0.0.1:9"));
        assert!(!format!("{work:?}").contains("s3cr3t"), "{work:?}");
        work.user = Some("alice".into());
        cfg.save(&path).expect("saves");
        let text = std::fs::read_to_string(&path).expect("reads");
        let back: toml::Value = toml::from_str(&text).expect("valid TOML");
        assert_eq!(back["theme"].as_str(), Some("dark"), "{text}");
        let work = &back["profiles"]["work"];
        assert_eq!(work["region"].as_str(), Some("eu-west-1"), "{text}");
        assert_eq!(work["future"]["token"].as_str(), Some("s3cr3t"), "{text}");
        assert_eq!(work["user"].as_str(), Some("alice"), "{text}");
    }

    #[test]
    fn a_broken_file_is_named() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("config.toml");
        std::fs::write(&path, "profiles = 3").expect("writes");
        let err = ConfigFile::load(&path).expect_err("invalid");
        assert!(err.to_string().contains("config.toml"), "{err}");
    }
}
