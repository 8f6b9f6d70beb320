//! Generation and hashing of API keys and AWS-style credentials.

use rand::{Rng, distributions::Alphanumeric};
use sha2::{Digest, Sha256};
use std::fmt;

/// The prefix of every Mini AWS API key, so that secret scanners and humans
/// can recognise one.
pub const API_KEY_PREFIX: &str = "mk_";

/// Freshly generated credentials; shown to the user exactly once.
pub struct IssuedSecrets {
    /// The `X-API-Key` value.
    pub api_key: String,
    /// The AWS-style access key id (public part).
    pub access_key_id: String,
    /// The AWS-style secret access key.
    pub secret_access_key: String,
}

impl fmt::Debug for IssuedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedSecrets")
            .field("access_key_id", &self.access_key_id)
            .finish_non_exhaustive()
    }
}

fn random_string(len: usize, charset: &[u8]) -> String {
    let mut rng = rand::thread_rng();
    (0..len)
        .map(|_| charset[rng.gen_range(0..charset.len())] as char)
        .collect()
}

impl IssuedSecrets {
    /// Generates a new API key and access key pair from the OS RNG.
    pub fn generate() -> Self {
        let body: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(40)
            .map(char::from)
            .collect();
        const UPPER_DIGITS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        const SECRET_CHARS: &[u8] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        Self {
            api_key: format!("{API_KEY_PREFIX}{body}"),
            // AWS access key ids are 20 upper-case characters starting with
            // a four-letter type prefix; tools such as rclone check the shape.
            access_key_id: format!("AKIA{}", random_string(16, UPPER_DIGITS)),
            secret_access_key: random_string(40, SECRET_CHARS),
        }
    }

    /// The displayable prefix of the API key (never enough to use it).
    pub fn prefix(&self) -> String {
        self.api_key
            .chars()
            .take(API_KEY_PREFIX.len() + 6)
            .collect()
    }
}

/// The SHA-256 hex digest under which an API key is stored and looked up.
///
/// A fast hash is right here: keys carry 238 bits of entropy, so there is
/// nothing for a slow password hash to protect against.
pub fn hash_api_key(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_have_the_documented_shape() {
        let s = IssuedSecrets::generate();
        assert!(s.api_key.starts_with("mk_"));
        assert_eq!(s.api_key.len(), 43);
        assert_eq!(s.access_key_id.len(), 20);
        assert!(s.access_key_id.starts_with("AKIA"));
        assert_eq!(s.secret_access_key.len(), 40);
        assert_eq!(s.prefix().len(), 9);
        assert_ne!(IssuedSecrets::generate().api_key, s.api_key);
    }

    #[test]
    fn hash_is_sha256_hex() {
        assert_eq!(
            hash_api_key("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn debug_never_shows_secrets() {
        let s = IssuedSecrets::generate();
        let dbg = format!("{s:?}");
        assert!(!dbg.contains(&s.api_key));
        assert!(!dbg.contains(&s.secret_access_key));
    }
}
