//! The destination directory of a recursive download, which it never leaves.
//!
//! Object keys are hostile input: the server stores `../../etc/passwd`,
//! `/abs`, NUL bytes and anything else verbatim. A key becomes a path only
//! if every `/`-separated segment of it (after the prefix) is a plain file
//! name ([`place`]). The path is then walked one directory at a time from a
//! descriptor of the destination, with `openat(O_DIRECTORY | O_NOFOLLOW)`
//! and `mkdirat` ([`Sandbox`]): a symbolic link (even one already inside
//! the destination), or a file where a directory is needed, is refused and
//! never followed, and a directory swapped for a link by someone else while
//! we work cannot redirect a write either (we hold descriptors, not paths).
//! A file is written to a temporary created with `O_EXCL | O_NOFOLLOW` in
//! its directory, flushed, and renamed (`renameat`) under its final name
//! when complete: a rename replaces a link at that name, it never writes
//! through it. rustix rather than `std::fs`: the standard library has no
//! `*at` calls.

use anyhow::{Context, Result};
use bytes::Bytes;
use futures::Stream;
use indicatif::ProgressBar;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RenameFlags};
use rustix::io::Errno;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Path, PathBuf};

use crate::output::is_deceptive_format;
use crate::transfer::stream_into;

/// The longest file name Linux file systems take (`NAME_MAX`), in bytes.
const NAME_MAX: usize = 255;

/// Where a key (relative to the prefix) goes under the destination.
#[derive(Debug, PartialEq, Eq)]
pub enum Place<'a> {
    /// A file at these segments.
    File(Vec<&'a str>),
    /// A folder marker (a key ending in `/`): a directory at these segments
    /// (none: the destination itself).
    Dir(Vec<&'a str>),
}

/// Where `rel`, a key with its prefix removed, may be written, or why it
/// may not: an absolute path, an empty, `.` or `..` segment, a NUL or other
/// control character (a terminal would interpret it when the name is
/// shown), a bidirectional control or other invisible format character
/// ([`is_deceptive_format`]: `invoice\u{202e}fdp.exe` would be shown as
/// `invoiceexe.pdf`), a backslash (a separator on other systems), or a segment longer
/// than a file name can be.
///
/// # Errors
/// The reason, phrased to follow "the key …".
pub fn place(rel: &str) -> Result<Place<'_>, String> {
    if rel.contains('\0') {
        return Err("contains a NUL byte".into());
    }
    if rel.chars().any(char::is_control) {
        return Err("contains a control character".into());
    }
    if let Some(c) = rel.chars().find(|&c| is_deceptive_format(c)) {
        return Err(format!(
            "contains U+{:04X}, an invisible format character that can make a file name display as another",
            u32::from(c)
        ));
    }
    if rel.contains('\\') {
        return Err("contains a backslash".into());
    }
    if rel.starts_with('/') {
        return Err("is an absolute path".into());
    }
    // An empty `rel` is the key that equals the prefix, which ends in `/`:
    // the prefix's own folder marker.
    let (body, dir) = match rel.strip_suffix('/') {
        Some(body) => (body, true),
        None => (rel, rel.is_empty()),
    };
    let segments: Vec<&str> = if body.is_empty() {
        Vec::new()
    } else {
        body.split('/').collect()
    };
    for segment in &segments {
        match *segment {
            "" => return Err("has an empty segment (`//`)".into()),
            "." => return Err("has a `.` segment".into()),
            ".." => return Err("has a `..` segment".into()),
            s if s.len() > NAME_MAX => {
                return Err(format!(
                    "has a segment longer than {NAME_MAX} bytes, the longest file name"
                ));
            }
            _ => {}
        }
    }
    if dir {
        Ok(Place::Dir(segments))
    } else {
        Ok(Place::File(segments))
    }
}

/// The destination directory, held open.
pub struct Sandbox {
    root: OwnedFd,
    path: PathBuf,
}

/// What [`Target::write`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Written {
    /// Saved, this many bytes.
    Saved(u64),
    /// Not saved: the name exists (`--no-overwrite`).
    Exists,
}

/// A file's identity (device and inode number). Two names of one file
/// have the same: `README` and `readme` on a file system that folds case,
/// or two spellings of `é` on one that normalizes Unicode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId {
    dev: u64,
    ino: u64,
}

/// A file's directory, held open, and its name in it.
pub struct Target {
    dir: OwnedFd,
    name: String,
    /// The destination-relative path, for messages.
    pub path: PathBuf,
}

fn open_dir(parent: BorrowedFd<'_>, name: &str) -> rustix::io::Result<OwnedFd> {
    rustix::fs::openat(
        parent,
        name,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
        Mode::empty(),
    )
}

/// What is at `name` in `dir`, without following a link.
fn kind_at(dir: BorrowedFd<'_>, name: &str) -> Option<FileType> {
    rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .ok()
        .map(|st| FileType::from_raw_mode(st.st_mode))
}

/// Why `path` cannot be used as a directory.
fn not_a_directory(kind: Option<FileType>, path: &Path) -> String {
    match kind {
        Some(FileType::Symlink) => format!(
            "{} is a symbolic link, which a download never follows",
            path.display()
        ),
        Some(FileType::RegularFile) => format!(
            "{} is a file (another key's, or one already there), not a directory",
            path.display()
        ),
        _ => format!("{} is not a directory", path.display()),
    }
}

impl Sandbox {
    /// Creates `path` if needed and opens it. The destination itself may be
    /// a link: the user named it; nothing under it is followed.
    ///
    /// # Errors
    /// When it cannot be created or is not a directory.
    pub fn open(path: &Path) -> Result<Self> {
        std::fs::create_dir_all(path)
            .with_context(|| format!("cannot create the directory {}", path.display()))?;
        let root = rustix::fs::openat(
            rustix::fs::CWD,
            path,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(std::io::Error::from)
        .with_context(|| format!("cannot open the directory {}", path.display()))?;
        Ok(Self {
            root,
            path: path.to_owned(),
        })
    }

    /// The directory at `segments` (created as needed), never following a
    /// link.
    ///
    /// # Errors
    /// A message naming the component that is a link, a file, or cannot
    /// be created.
    pub fn dir(&self, segments: &[&str]) -> Result<OwnedFd, String> {
        let mut current = self
            .root
            .try_clone()
            .map_err(|e| format!("cannot open {}: {e}", self.path.display()))?;
        let mut path = self.path.clone();
        for segment in segments {
            path.push(segment);
            let parent = current.as_fd();
            let opened = match open_dir(parent, segment) {
                Err(Errno::NOENT) => {
                    match rustix::fs::mkdirat(parent, *segment, Mode::from_raw_mode(0o777)) {
                        Ok(()) | Err(Errno::EXIST) => open_dir(parent, segment),
                        Err(e) => Err(e),
                    }
                }
                other => other,
            };
            current = match opened {
                Ok(fd) => fd,
                Err(Errno::NOTDIR | Errno::LOOP) => {
                    return Err(not_a_directory(kind_at(parent, segment), &path));
                }
                Err(e) => {
                    return Err(format!(
                        "cannot create or open {}: {}",
                        path.display(),
                        std::io::Error::from(e)
                    ));
                }
            };
        }
        Ok(current)
    }

    /// Where the file at `segments` (at least one) goes; its directories
    /// are created.
    ///
    /// # Errors
    /// As [`Sandbox::dir`].
    pub fn target(&self, segments: &[&str]) -> Result<Target, String> {
        let Some((name, dirs)) = segments.split_last() else {
            return Err("is the prefix itself".into());
        };
        let dir = self.dir(dirs)?;
        let mut path = self.path.clone();
        path.extend(segments);
        Ok(Target {
            dir,
            name: (*name).to_owned(),
            path,
        })
    }
}

impl Sandbox {
    /// Opens `path` if it is an existing directory, creating nothing:
    /// `None` when there is nothing there.
    ///
    /// # Errors
    /// When something that is not a directory is there, or it cannot be
    /// opened.
    pub fn open_existing(path: &Path) -> Result<Option<Self>> {
        match std::fs::metadata(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
            Ok(meta) if !meta.is_dir() => {
                anyhow::bail!("{} is not a directory", path.display())
            }
            Ok(_) => Self::open(path).map(Some),
        }
    }

    /// The name at `segments` (at least one) when every directory on the
    /// way exists and is a directory, never following a link and creating
    /// nothing; `None` otherwise.
    pub fn find(&self, segments: &[&str]) -> Option<Target> {
        let (name, dirs) = segments.split_last()?;
        let mut current = self.root.try_clone().ok()?;
        for segment in dirs {
            current = open_dir(current.as_fd(), segment).ok()?;
        }
        let mut path = self.path.clone();
        path.extend(segments);
        Some(Target {
            dir: current,
            name: (*name).to_owned(),
            path,
        })
    }
}

/// Removes the temporary file unless it was renamed: on failure, and when
/// the download future is dropped (Ctrl-C).
struct TempName<'a> {
    dir: BorrowedFd<'a>,
    name: String,
    renamed: bool,
}

impl Drop for TempName<'_> {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = rustix::fs::unlinkat(self.dir, self.name.as_str(), AtFlags::empty());
        }
    }
}

/// At most `max` bytes of `s`, cut on a character boundary.
fn truncated(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Target {
    /// What is at the final name now (a link is reported, not followed).
    pub fn existing(&self) -> Option<FileType> {
        kind_at(self.dir.as_fd(), &self.name)
    }

    /// The identity of what is at the final name now, if anything (a link
    /// is not followed).
    pub fn identity(&self) -> Option<FileId> {
        rustix::fs::statat(
            self.dir.as_fd(),
            self.name.as_str(),
            AtFlags::SYMLINK_NOFOLLOW,
        )
        .ok()
        .map(|st| FileId {
            dev: st.st_dev,
            ino: st.st_ino,
        })
    }

    /// The regular file at the final name, opened for reading; `None` for
    /// anything else (a link is not followed, a FIFO is not waited on).
    pub fn open_file(&self) -> Option<std::fs::File> {
        let fd = rustix::fs::openat(
            self.dir.as_fd(),
            self.name.as_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()?;
        let stat = rustix::fs::fstat(&fd).ok()?;
        (FileType::from_raw_mode(stat.st_mode) == FileType::RegularFile)
            .then(|| std::fs::File::from(fd))
    }

    /// Removes the name: a file, or a link itself (never what it points
    /// to).
    ///
    /// # Errors
    /// As `unlinkat` (a directory is not removed).
    pub fn remove(&self) -> std::io::Result<()> {
        rustix::fs::unlinkat(self.dir.as_fd(), self.name.as_str(), AtFlags::empty())
            .map_err(std::io::Error::from)
    }

    /// Streams `body` to a temporary beside the final name and renames it
    /// there when complete; with `no_overwrite`, never over an existing
    /// name (`RENAME_NOREPLACE`, atomic).
    ///
    /// # Errors
    /// Local IO failures, the body's error, a length mismatch, a directory
    /// at the final name.
    pub async fn write<S, E>(
        &self,
        mut body: S,
        expected_len: Option<u64>,
        bar: &ProgressBar,
        limit: Option<u64>,
        no_overwrite: bool,
    ) -> Result<Written>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: Into<anyhow::Error>,
    {
        // `.NAME.RANDOM.part`, short enough to be a file name itself.
        let tmp_name = format!(
            ".{}.{}.part",
            truncated(&self.name, NAME_MAX - 40),
            uuid::Uuid::new_v4().simple()
        );
        let tmp_path = self.path.with_file_name(&tmp_name);
        let fd = rustix::fs::openat(
            self.dir.as_fd(),
            tmp_name.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map_err(std::io::Error::from)
        .with_context(|| format!("cannot create {}", tmp_path.display()))?;
        let mut guard = TempName {
            dir: self.dir.as_fd(),
            name: tmp_name,
            renamed: false,
        };
        let mut file = tokio::fs::File::from_std(std::fs::File::from(fd));
        let written = stream_into(
            &mut body,
            &mut file,
            &tmp_path,
            &self.path,
            expected_len,
            bar,
            limit,
        )
        .await?;
        drop(file);
        let renamed = if no_overwrite {
            rustix::fs::renameat_with(
                self.dir.as_fd(),
                guard.name.as_str(),
                self.dir.as_fd(),
                self.name.as_str(),
                RenameFlags::NOREPLACE,
            )
        } else {
            rustix::fs::renameat(
                self.dir.as_fd(),
                guard.name.as_str(),
                self.dir.as_fd(),
                self.name.as_str(),
            )
        };
        // File systems without RENAME_NOREPLACE: a hard link fails just as
        // atomically on an existing name; the temporary is then removed.
        let renamed = match renamed {
            Err(Errno::INVAL) if no_overwrite => rustix::fs::linkat(
                self.dir.as_fd(),
                guard.name.as_str(),
                self.dir.as_fd(),
                self.name.as_str(),
                AtFlags::empty(),
            )
            .map(|()| {
                let _ =
                    rustix::fs::unlinkat(self.dir.as_fd(), guard.name.as_str(), AtFlags::empty());
            }),
            other => other,
        };
        match renamed {
            Ok(()) => {
                guard.renamed = true;
                Ok(Written::Saved(written))
            }
            Err(Errno::EXIST) if no_overwrite => Ok(Written::Exists),
            Err(Errno::ISDIR | Errno::NOTEMPTY | Errno::EXIST) => anyhow::bail!(
                "{} is a directory (another key's, or one already there)",
                self.path.display()
            ),
            Err(e) => Err(std::io::Error::from(e))
                .with_context(|| format!("cannot rename the download to {}", self.path.display())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[test]
    fn only_plain_relative_names_are_placed() {
        let file = |s: &[&'static str]| Ok(Place::File(s.to_vec()));
        let dir = |s: &[&'static str]| Ok(Place::Dir(s.to_vec()));
        let long = "x".repeat(256);
        let cases: Vec<(&str, Result<Place, String>)> = vec![
            ("a", file(&["a"])),
            ("a/b/c.txt", file(&["a", "b", "c.txt"])),
            ("ü/日本/😀 x", file(&["ü", "日本", "😀 x"])),
            ("..a/b..", file(&["..a", "b.."])),
            (
                "می\u{200C}خواهم/👩\u{200D}💻",
                file(&["می\u{200C}خواهم", "👩\u{200D}💻"]),
            ),
            (".hidden", file(&[".hidden"])),
            ("a/", dir(&["a"])),
            ("", dir(&[])),
        ];
        for (rel, want) in cases {
            assert_eq!(place(rel), want, "case {rel:?}");
        }
        for rel in [
            "../escape",
            "a/../../b",
            "a/..",
            "..",
            "/abs",
            "/",
            "dir/./x",
            ".",
            "a//b",
            "a//",
            "x\\y",
            "nul\0byte",
            "new\nline",
            "esc\u{1b}[2J",
            "invoice\u{202E}fdp.exe",
            "a/\u{2066}b\u{2069}",
            "\u{200F}rtl",
            "zero\u{200B}width",
            "\u{FEFF}bom",
            "arabic\u{061C}mark",
            long.as_str(),
        ] {
            assert!(place(rel).is_err(), "{rel:?} must be refused");
        }
    }

    #[tokio::test]
    async fn links_and_files_in_the_way_are_never_followed() {
        let outside = tempfile::tempdir().expect("temp dir");
        let dest = tempfile::tempdir().expect("temp dir");
        let d = dest.path();
        std::os::unix::fs::symlink(outside.path(), d.join("link")).expect("symlink");
        std::os::unix::fs::symlink(outside.path().join("f"), d.join("flink")).expect("symlink");
        std::fs::write(d.join("file"), "x").expect("writes");
        let sandbox = Sandbox::open(d).expect("opens");

        let err = sandbox.target(&["link", "x"]).err().expect("refused");
        assert!(err.contains("symbolic link"), "{err}");
        let err = sandbox.target(&["file", "x"]).err().expect("refused");
        assert!(err.contains("is a file"), "{err}");

        // A link at the final name is replaced, not written through.
        let body = futures::stream::iter(vec![Ok::<_, anyhow::Error>(Bytes::from_static(b"hi"))]);
        let target = sandbox.target(&["flink"]).expect("placed");
        assert_eq!(target.existing(), Some(FileType::Symlink));
        let got = target
            .write(body, Some(2), &ProgressBar::hidden(), None, false)
            .await
            .expect("writes");
        assert_eq!(got, Written::Saved(2));
        assert_eq!(std::fs::read(d.join("flink")).expect("a file now"), b"hi");
        assert!(!outside.path().join("f").exists());
        assert_eq!(
            std::fs::read_dir(outside.path()).expect("lists").count(),
            0,
            "nothing was written outside"
        );

        // --no-overwrite: an existing name stays, the temporary goes.
        let body = futures::stream::iter(vec![Ok::<_, anyhow::Error>(Bytes::from_static(b"new"))]);
        let target = sandbox.target(&["file"]).expect("placed");
        let got = target
            .write(body, None, &ProgressBar::hidden(), None, true)
            .await
            .expect("writes");
        assert_eq!(got, Written::Exists);
        assert_eq!(std::fs::read(d.join("file")).expect("kept"), b"x");

        // A failed or abandoned (Ctrl-C drops the future) transfer leaves
        // neither the final name nor a temporary.
        let failing = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"part")),
            Err(anyhow::anyhow!("connection reset")),
        ]);
        let target = sandbox.target(&["sub", "never"]).expect("placed");
        let err = target
            .write(failing, None, &ProgressBar::hidden(), None, false)
            .await
            .expect_err("the body fails");
        assert!(err.to_string().contains("connection reset"), "{err}");
        let stalled =
            futures::stream::iter(vec![Ok::<_, anyhow::Error>(Bytes::from_static(b"part"))])
                .chain(futures::stream::pending());
        let hidden = ProgressBar::hidden();
        let write = target.write(stalled, None, &hidden, None, false);
        let abandoned = tokio::time::timeout(std::time::Duration::from_millis(50), write).await;
        assert!(abandoned.is_err(), "the stalled body never ends");
        assert_eq!(
            std::fs::read_dir(d.join("sub")).expect("lists").count(),
            0,
            "no temporary is left"
        );

        // A directory at the final name is a conflict, said so.
        std::fs::create_dir(d.join("adir")).expect("mkdir");
        let body = futures::stream::iter(vec![Ok::<_, anyhow::Error>(Bytes::from_static(b"z"))]);
        let err = sandbox
            .target(&["adir"])
            .expect("placed")
            .write(body, None, &ProgressBar::hidden(), None, false)
            .await
            .expect_err("a directory is not replaced");
        assert!(err.to_string().contains("is a directory"), "{err}");
        let mut names: Vec<String> = std::fs::read_dir(d)
            .expect("lists")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(
            names,
            ["adir", "file", "flink", "link", "sub"],
            "no temporary is left"
        );
    }

    #[tokio::test]
    async fn two_names_of_one_file_have_one_identity() {
        // What a case-folding file system does with `A` and `a`, a hard
        // link does on this one: two names, one file.
        let dest = tempfile::tempdir().expect("temp dir");
        let sandbox = Sandbox::open(dest.path()).expect("opens");
        let a = sandbox.target(&["A"]).expect("placed");
        assert_eq!(a.identity(), None, "nothing there yet");
        let body = futures::stream::iter(vec![Ok::<_, anyhow::Error>(Bytes::from_static(b"A"))]);
        a.write(body, Some(1), &ProgressBar::hidden(), None, false)
            .await
            .expect("writes");
        std::fs::hard_link(dest.path().join("A"), dest.path().join("a")).expect("links");
        std::fs::write(dest.path().join("b"), "b").expect("writes");
        let written = a.identity().expect("written");
        assert_eq!(
            sandbox.target(&["a"]).expect("placed").identity(),
            Some(written)
        );
        assert_ne!(
            sandbox.target(&["b"]).expect("placed").identity(),
            Some(written)
        );
    }
}
