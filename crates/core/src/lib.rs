//! The centre of the Mini AWS hexagon.
//!
//! This crate holds the domain types (users, API keys, instances, buckets,
//! objects), the ports the domain needs from the outside world (repositories,
//! the compute driver, the blob store) and the services that implement the
//! business rules on top of those ports. It performs no IO of its own: adapters
//! in `miniaws-db`, `miniaws-docker` and `miniaws-blob` implement the ports, and
//! `miniaws-api` turns HTTP requests into service calls.

/// Declares a UUID newtype id with parsing, display and serde.
macro_rules! uuid_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(::uuid::Uuid);

        impl $name {
            /// A fresh random (v4) id.
            pub fn new() -> Self {
                Self(::uuid::Uuid::new_v4())
            }
            /// Wraps an existing UUID.
            pub fn from_uuid(id: ::uuid::Uuid) -> Self {
                Self(id)
            }
            /// The underlying UUID.
            pub fn as_uuid(&self) -> ::uuid::Uuid {
                self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::CoreError;
            fn from_str(s: &str) -> $crate::CoreResult<Self> {
                ::uuid::Uuid::parse_str(s).map(Self).map_err(|_| {
                    $crate::CoreError::invalid(format!("`{s}` is not a valid id (expected a UUID)"))
                })
            }
        }
    };
}

pub mod clock;
pub mod compute;
pub mod error;
pub mod health;
pub mod identity;
pub mod lifecycle;
pub mod multipart;
pub mod storage;

pub use error::{CoreError, CoreResult, Resource};

/// The question a background pass (the lifecycle sweep, the expiry of
/// abandoned multipart uploads) asks between its steps — one delete or one
/// abort, row and blob, never inside one: once it answers `true` (the
/// server is shutting down), the pass finishes the step in hand and
/// returns what it did so far. Whatever the pass did not reach waits for
/// the next one, as on any early stop.
pub type StopRequested<'a> = &'a (dyn Fn() -> bool + Sync);

/// Never asks a pass to stop: it runs to its end.
pub const NEVER_STOP: StopRequested<'static> = &|| false;
