//! Identity: users, API keys and the AWS-style credentials that come with them.

mod domain;
mod ports;
mod sealing;
mod secrets;
mod service;

pub use domain::{
    ApiKey, ApiKeyId, Caller, KeyName, KeyPosition, NewApiKey, StoredSecret, User, UserId, UserName,
};
pub use ports::IdentityRepo;
pub use sealing::{
    OpenError, Opened, SEALED_PREFIX, SECRETS_KEY_LEN, SecretSealer, SecretsKey, WrongKeyLength,
};
pub use secrets::{IssuedSecrets, hash_api_key};
pub use service::{
    CreatedKey, IdentityService, KeyPage, LAST_USED_INTERVAL, MAX_LIST_API_KEYS, SealingReport,
    UNKNOWN_ACCESS_KEY,
};
