//! The bytes the suites upload: a constant byte, or random bytes.
//!
//! The choice matters on some disks: this project's VM writes a buffer of
//! one repeated byte 5–10 times faster than random bytes (its virtual disk
//! evidently compresses or deduplicates), so a raw-write figure measured
//! on constant bytes is an upper bound no user's data reaches. The suites
//! measure the raw limits and the server on the same bytes either way.

use bytes::Bytes;
use rand::RngCore;

/// What the large bodies (and the raw write beside them) are made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BodyKind {
    /// Random bytes: incompressible, like the photos, archives and
    /// binaries users store.
    Random,
    /// One repeated byte (0x5a), as the benches of sessions 1–17 used.
    Constant,
}

/// `len` bytes of `kind`.
pub fn bytes(kind: BodyKind, len: usize) -> Bytes {
    match kind {
        BodyKind::Constant => Bytes::from(vec![0x5au8; len]),
        BodyKind::Random => {
            let mut buf = vec![0u8; len];
            rand::thread_rng().fill_bytes(&mut buf);
            Bytes::from(buf)
        }
    }
}
