//! Identity: users, API keys and the AWS-style credentials that come with them.

mod domain;
mod ports;
mod secrets;
mod service;

pub use domain::{
    ApiKey, ApiKeyId, Caller, KeyName, KeyPosition, NewApiKey, User, UserId, UserName,
};
pub use ports::IdentityRepo;
pub use secrets::{IssuedSecrets, hash_api_key};
pub use service::{CreatedKey, IdentityService, KeyPage, LAST_USED_INTERVAL, MAX_LIST_API_KEYS};
