//! Sealing of SigV4 secret access keys at rest.
//!
//! SigV4 verification recomputes the signature with the secret, so the
//! secret cannot be stored as a digest the way API keys are. It is stored
//! sealed instead: encrypted with ChaCha20-Poly1305 (RFC 8439) under a
//! service key that lives outside the database (the server reads it from a
//! file at start-up and hands the bytes in), so that a database dump or a
//! copied backup holds no working S3 credentials.
//!
//! The stored form is `sealed1:` + base64(nonce ‖ ciphertext ‖ tag), with a
//! fresh random 96-bit nonce per secret and the access key id as associated
//! data: a sealed value copied onto another key's row does not open. A
//! generated secret is 40 characters of `A-Z a-z 0-9 + /`, so it never
//! contains the prefix's `:`, and a stored value is told apart without
//! ambiguity: sealed, or in clear as versions before sealing wrote it.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use rand::RngCore;
use std::fmt;

/// The length of the service key, in bytes.
pub const SECRETS_KEY_LEN: usize = 32;

/// The prefix of every sealed secret; the digit is the format's version.
pub const SEALED_PREFIX: &str = "sealed1:";

const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

/// The service key that seals secret access keys: 32 bytes, never logged
/// (its `Debug` shows nothing of it).
#[derive(Clone, PartialEq, Eq)]
pub struct SecretsKey([u8; SECRETS_KEY_LEN]);

impl SecretsKey {
    /// Wraps key bytes read from the key file.
    ///
    /// # Errors
    /// [`WrongKeyLength`] when there are not exactly [`SECRETS_KEY_LEN`]
    /// bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WrongKeyLength> {
        <[u8; SECRETS_KEY_LEN]>::try_from(bytes)
            .map(Self)
            .map_err(|_| WrongKeyLength { len: bytes.len() })
    }

    /// A new key from the operating system's random number generator.
    pub fn generate() -> Self {
        let mut bytes = [0u8; SECRETS_KEY_LEN];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Self(bytes)
    }

    /// The key bytes, to be written to the key file.
    pub fn as_bytes(&self) -> &[u8; SECRETS_KEY_LEN] {
        &self.0
    }
}

impl fmt::Debug for SecretsKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretsKey(..)")
    }
}

/// A key of the wrong length (the error names the length, never the bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a secrets key is {SECRETS_KEY_LEN} bytes, this one is {len}")]
pub struct WrongKeyLength {
    /// How many bytes there were.
    pub len: usize,
}

/// Why a stored secret did not open. No variant carries any part of the
/// stored value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpenError {
    /// The value has the sealed prefix but is not base64 of a nonce and a
    /// tag at least.
    #[error("the sealed secret is malformed")]
    Malformed,
    /// The value does not authenticate under this key with this access key
    /// id: another service key sealed it, it was copied from another row,
    /// or it was altered.
    #[error("the sealed secret does not open with this secrets key")]
    WrongKey,
}

/// A stored secret, opened.
#[derive(PartialEq, Eq)]
pub enum Opened {
    /// It was sealed: the secret.
    Sealed(String),
    /// It was stored in clear (by a version before sealing): the secret as
    /// it was stored.
    Clear(String),
}

impl Opened {
    /// The secret, however it was stored.
    pub fn into_secret(self) -> String {
        match self {
            Self::Sealed(s) | Self::Clear(s) => s,
        }
    }
}

impl fmt::Debug for Opened {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Sealed(_) => "Sealed(..)",
            Self::Clear(_) => "Clear(..)",
        })
    }
}

/// Seals secret access keys for storage and opens them again.
#[derive(Clone)]
pub struct SecretSealer {
    cipher: ChaCha20Poly1305,
}

impl fmt::Debug for SecretSealer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretSealer(..)")
    }
}

impl SecretSealer {
    /// A sealer with the service key `key`.
    pub fn new(key: &SecretsKey) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(&Key::from(key.0)),
        }
    }

    /// Whether `stored` is in the sealed form (whether or not it opens).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(SEALED_PREFIX)
    }

    /// The stored form of `secret`, the secret access key paired with
    /// `access_key_id`.
    pub fn seal(&self, access_key_id: &str, secret: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let sealed = self
            .cipher
            .encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: secret.as_bytes(),
                    aad: access_key_id.as_bytes(),
                },
            )
            // ChaCha20-Poly1305 refuses only messages of 256 GiB and more.
            .expect("a secret access key is far below ChaCha20-Poly1305's message limit");
        let mut raw = Vec::with_capacity(NONCE_LEN + sealed.len());
        raw.extend_from_slice(&nonce);
        raw.extend_from_slice(&sealed);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(raw))
    }

    /// The secret `stored` holds for `access_key_id`: opened when sealed,
    /// as it is when stored in clear.
    ///
    /// # Errors
    /// [`OpenError::Malformed`] for a sealed value that cannot be one,
    /// [`OpenError::WrongKey`] for one that does not authenticate.
    pub fn open(&self, access_key_id: &str, stored: &str) -> Result<Opened, OpenError> {
        let Some(encoded) = stored.strip_prefix(SEALED_PREFIX) else {
            return Ok(Opened::Clear(stored.to_owned()));
        };
        let raw = STANDARD.decode(encoded).map_err(|_| OpenError::Malformed)?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(OpenError::Malformed);
        }
        let (nonce, sealed) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| OpenError::Malformed)?;
        let secret = self
            .cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: sealed,
                    aad: access_key_id.as_bytes(),
                },
            )
            .map_err(|_| OpenError::WrongKey)?;
        // A value sealed by this code always holds UTF-8; one that
        // authenticates but does not is no secret this server sealed.
        String::from_utf8(secret)
            .map(Opened::Sealed)
            .map_err(|_| OpenError::Malformed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::IssuedSecrets;

    const AKID: &str = "AKIAAAAAAAAAAAAAAAAA";
    const SECRET: &str = "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";

    fn sealer() -> SecretSealer {
        SecretSealer::new(&SecretsKey::generate())
    }

    #[test]
    fn a_sealed_secret_opens_to_itself() {
        let s = sealer();
        let sealed = s.seal(AKID, SECRET);
        assert!(sealed.starts_with(SEALED_PREFIX), "{sealed}");
        assert!(SecretSealer::is_sealed(&sealed));
        assert!(!sealed.contains(SECRET));
        assert_eq!(s.open(AKID, &sealed), Ok(Opened::Sealed(SECRET.into())));
        // A fresh nonce each time: the same secret seals differently.
        assert_ne!(s.seal(AKID, SECRET), sealed);
        // Short enough for the widened column (migration 0019).
        assert!(sealed.len() <= 128, "{}", sealed.len());
    }

    #[test]
    fn generated_secrets_are_never_taken_for_sealed_ones() {
        for _ in 0..100 {
            let secret = IssuedSecrets::generate().secret_access_key;
            assert!(!SecretSealer::is_sealed(&secret));
            assert_eq!(sealer().open(AKID, &secret), Ok(Opened::Clear(secret)));
        }
    }

    #[test]
    fn another_key_does_not_open_it() {
        let sealed = sealer().seal(AKID, SECRET);
        assert_eq!(sealer().open(AKID, &sealed), Err(OpenError::WrongKey));
    }

    #[test]
    fn another_access_key_id_does_not_open_it() {
        let s = sealer();
        let sealed = s.seal(AKID, SECRET);
        assert_eq!(
            s.open("AKIABBBBBBBBBBBBBBBB", &sealed),
            Err(OpenError::WrongKey)
        );
    }

    #[test]
    fn altered_values_do_not_open() {
        let s = sealer();
        let sealed = s.seal(AKID, SECRET);
        let mut raw = STANDARD
            .decode(&sealed[SEALED_PREFIX.len()..])
            .expect("base64");
        for at in [0, NONCE_LEN, raw.len() - 1] {
            raw[at] ^= 1;
            let tampered = format!("{SEALED_PREFIX}{}", STANDARD.encode(&raw));
            assert_eq!(s.open(AKID, &tampered), Err(OpenError::WrongKey), "{at}");
            raw[at] ^= 1;
        }
        let truncated = format!("{SEALED_PREFIX}{}", STANDARD.encode(&raw[..raw.len() - 1]));
        assert_eq!(s.open(AKID, &truncated), Err(OpenError::WrongKey));
    }

    #[test]
    fn malformed_sealed_values_are_refused() {
        let s = sealer();
        for bad in [
            "sealed1:",
            "sealed1:not base64!",
            "sealed1:AAAA",
            &format!(
                "{SEALED_PREFIX}{}",
                STANDARD.encode([0u8; NONCE_LEN + TAG_LEN - 1])
            ),
        ] {
            assert_eq!(s.open(AKID, bad), Err(OpenError::Malformed), "{bad}");
        }
        // A value of the right shape that does not authenticate.
        let forged = format!("{SEALED_PREFIX}{}", STANDARD.encode([0u8; 60]));
        assert_eq!(s.open(AKID, &forged), Err(OpenError::WrongKey));
        // Another version's prefix is not this format: taken as it is.
        assert!(!SecretSealer::is_sealed("sealed2:AAAA"));
    }

    #[test]
    fn keys_must_be_32_bytes() {
        assert_eq!(
            SecretsKey::from_bytes(&[0; 31]),
            Err(WrongKeyLength { len: 31 })
        );
        assert!(SecretsKey::from_bytes(&[0; 33]).is_err());
        let key = SecretsKey::from_bytes(&[7; 32]).expect("32 bytes");
        assert_eq!(key.as_bytes(), &[7; 32]);
        assert_ne!(SecretsKey::generate(), SecretsKey::generate());
    }

    #[test]
    fn debug_shows_no_key_and_no_secret() {
        let key = SecretsKey::from_bytes(&[0xab; 32]).expect("32 bytes");
        assert_eq!(format!("{key:?}"), "SecretsKey(..)");
        let s = SecretSealer::new(&key);
        assert!(!format!("{s:?}").contains("ab"));
        let opened = s.open(AKID, &s.seal(AKID, SECRET)).expect("opens");
        assert!(!format!("{opened:?}").contains(SECRET));
        let e = s.open("AKIAOTHER", &s.seal(AKID, SECRET)).unwrap_err();
        assert!(!e.to_string().contains(SECRET));
    }
}
