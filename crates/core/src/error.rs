//! The one error type of the domain.
//!
//! Adapters translate their failures into [`CoreError`]; the API layer maps
//! each variant to an HTTP status and a wire code at the edge.

use std::fmt;

/// A kind of resource, used to say what was not found or what conflicted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    /// A user account.
    User,
    /// An API key.
    ApiKey,
    /// A compute instance.
    Instance,
    /// A container image.
    Image,
    /// A storage bucket.
    Bucket,
    /// A stored object.
    Object,
    /// A multipart upload.
    Upload,
}

impl Resource {
    /// The lowercase human name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Resource::User => "user",
            Resource::ApiKey => "API key",
            Resource::Instance => "instance",
            Resource::Image => "image",
            Resource::Bucket => "bucket",
            Resource::Object => "object",
            Resource::Upload => "multipart upload",
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a request conflicts with the current state of the world.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictKind {
    /// A resource with that name already exists (owned by someone else, or
    /// the caller when the operation is not idempotent).
    AlreadyExists,
    /// The caller already owns a bucket with that name.
    AlreadyOwnedByYou,
    /// A bucket still holds objects.
    BucketNotEmpty,
    /// A host port is already in use.
    PortInUse,
    /// The resource is in a state that does not allow the operation.
    InvalidState,
    /// The operation would remove the caller's last API key.
    LastKey,
    /// A client token was used before with other parameters.
    TokenReused,
}

/// What is wrong with the parts named to complete a multipart upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartProblem {
    /// A part was never uploaded, or its ETag differs.
    Missing,
    /// The parts are not in ascending order of part number.
    Order,
    /// A part other than the last is below the 5 MiB minimum.
    TooSmall,
}

/// What is wrong with a tag set (S3 answers the count with a code of its
/// own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagProblem {
    /// A key or value breaks a rule, or a key repeats.
    Invalid,
    /// More tags than an object (10) or a bucket (50) may carry.
    TooMany,
}

/// A dependency the server needs but cannot reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dependency {
    /// The metadata database.
    Database,
    /// The Docker daemon.
    Docker,
    /// The blob store on disk.
    Storage,
}

/// Every failure the domain can report.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    /// The request is malformed or violates a rule; the message names it.
    #[error("{0}")]
    InvalidInput(String),
    /// The request is well-formed but does not fit what it applies to (S3's
    /// `InvalidRequest`): a part checksum of another algorithm than its
    /// upload's, a completion that leaves out a part checksum the upload
    /// needs.
    #[error("{0}")]
    InvalidRequest(String),
    /// No valid credentials were presented.
    #[error("{0}")]
    Unauthorized(String),
    /// The caller is known but may not do this.
    #[error("{0}")]
    Forbidden(String),
    /// The named resource does not exist (or is not visible to the caller).
    #[error("{resource} not found: {name}")]
    NotFound {
        /// What kind of resource was looked up.
        resource: Resource,
        /// The id or name that was looked up.
        name: String,
    },
    /// The version a request named by its id is not one of its key's
    /// (S3's `NoSuchVersion`, which names both the key and the version).
    #[error("object version not found: {version_id} of {key}")]
    VersionNotFound {
        /// The key.
        key: String,
        /// The version id looked up.
        version_id: String,
    },
    /// The request conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// The kind of conflict, for wire codes.
        kind: ConflictKind,
        /// A message naming what conflicted.
        message: String,
    },
    /// A body or value exceeds a configured limit.
    #[error("{0}")]
    TooLarge(String),
    /// A body does not match the digest the client sent with it
    /// (`Content-MD5`, or an S3 checksum header); nothing was stored.
    #[error("{0}")]
    BadDigest(String),
    /// The user metadata of an object is larger than S3 allows (2 KiB of
    /// names and values); S3 answers it with a code of its own.
    #[error("{0}")]
    MetadataTooLarge(String),
    /// A tag set breaks S3's tagging rules; the message is S3's.
    #[error("{message}")]
    InvalidTag {
        /// Which rule.
        problem: TagProblem,
        /// S3's message for it.
        message: String,
    },
    /// A conditional request's precondition (`If-Match`,
    /// `If-Unmodified-Since`, or `If-None-Match: *` on a write) does not
    /// hold.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    /// The part list of a multipart completion is unusable; the problem
    /// says how (S3 has one error code for each).
    #[error("{message}")]
    InvalidPart {
        /// What is wrong with the parts.
        problem: PartProblem,
        /// Which part, and what to do.
        message: String,
    },
    /// The version read is a delete marker: the latest version of the key
    /// (S3: 404 `NoSuchKey`), or the one a version id named (405
    /// `MethodNotAllowed`); either answer says `x-amz-delete-marker: true`.
    #[error("{key} is a delete marker (version {version_id})")]
    DeleteMarker {
        /// The key.
        key: String,
        /// The delete marker's version id.
        version_id: String,
        /// Whether the request named it by its version id.
        by_version: bool,
        /// When the delete happened, where the answer says it (S3's
        /// `Last-Modified` on a read of the marker).
        last_modified: Option<time::OffsetDateTime>,
    },
    /// A `Range` selects no byte of the object.
    #[error("the requested range is not satisfiable: the object has {size_bytes} bytes")]
    RangeNotSatisfiable {
        /// The object's size, for `Content-Range: bytes */<size>`.
        size_bytes: u64,
    },
    /// A dependency is unreachable; the message names it and what to do.
    #[error("{message}")]
    Unavailable {
        /// Which dependency is missing.
        dependency: Dependency,
        /// What is wrong and what to do.
        message: String,
        /// The request reached the dependency and its answer was lost (the
        /// connection broke on the way back): a write may have taken
        /// effect, so what it refers to must not be undone.
        outcome_unknown: bool,
        /// What a client may be told, when `message` holds details for the
        /// log only (a database's own error text) and the general "retry
        /// shortly" would mislead (a read-only database will not come back
        /// by itself).
        public: Option<&'static str>,
    },
    /// A disk is full, or a write would eat into the space the server keeps
    /// free so that deletes can still be recorded (`--min-free-space`):
    /// nothing was written, and retrying will not help until space is
    /// freed. The message names the store and what to do, never a path,
    /// and is sent as is.
    #[error("{message}")]
    InsufficientStorage {
        /// The full store: the object store (`Storage`) or the database.
        dependency: Dependency,
        /// What is full and what to do.
        message: String,
    },
    /// Something stored no longer decodes (a row edited by hand, or
    /// written by another version of Mini AWS): the server's fault, but
    /// one the client can repair, so the message — which names what is
    /// damaged and what to do, never what is stored — is sent as is.
    #[error("{0}")]
    Damaged(String),
    /// A bug or an unexpected failure; details go to the log only.
    #[error("internal error: {message}")]
    Internal {
        /// A short description for the log.
        message: String,
        /// The underlying cause.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
}

/// Result alias used throughout the domain.
pub type CoreResult<T> = Result<T, CoreError>;

impl CoreError {
    /// An invalid-input error with the given message.
    pub fn invalid(message: impl Into<String>) -> Self {
        CoreError::InvalidInput(message.into())
    }

    /// A not-found error for `resource` named `name`.
    pub fn not_found(resource: Resource, name: impl Into<String>) -> Self {
        CoreError::NotFound {
            resource,
            name: name.into(),
        }
    }

    /// A conflict of `kind` with the given message.
    pub fn conflict(kind: ConflictKind, message: impl Into<String>) -> Self {
        CoreError::Conflict {
            kind,
            message: message.into(),
        }
    }

    /// An unavailable-dependency error.
    pub fn unavailable(dependency: Dependency, message: impl Into<String>) -> Self {
        CoreError::Unavailable {
            dependency,
            message: message.into(),
            outcome_unknown: false,
            public: None,
        }
    }

    /// An unavailable-dependency error whose client is told `public`
    /// rather than `message` (which goes to the log).
    pub fn unavailable_saying(
        dependency: Dependency,
        message: impl Into<String>,
        public: &'static str,
        outcome_unknown: bool,
    ) -> Self {
        CoreError::Unavailable {
            dependency,
            message: message.into(),
            outcome_unknown,
            public: Some(public),
        }
    }

    /// An insufficient-storage error for `dependency`.
    pub fn insufficient_storage(dependency: Dependency, message: impl Into<String>) -> Self {
        CoreError::InsufficientStorage {
            dependency,
            message: message.into(),
        }
    }

    /// An unavailable-dependency error for a request whose answer was
    /// lost: it may have taken effect (see [`Self::outcome_unknown`]).
    pub fn unavailable_outcome_unknown(dependency: Dependency, message: impl Into<String>) -> Self {
        CoreError::Unavailable {
            dependency,
            message: message.into(),
            outcome_unknown: true,
            public: None,
        }
    }

    /// Whether a write that failed with this error may have taken effect
    /// all the same (its answer was lost with the connection). A write's
    /// blob is then kept: removing it could leave a committed row without
    /// its bytes, while keeping it leaves at worst an orphan, which the
    /// start-up sweep removes.
    pub fn outcome_unknown(&self) -> bool {
        matches!(
            self,
            CoreError::Unavailable {
                outcome_unknown: true,
                ..
            }
        )
    }

    /// An internal error wrapping `source`.
    pub fn internal(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        CoreError::Internal {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    /// An internal error without a source.
    pub fn internal_msg(message: impl Into<String>) -> Self {
        CoreError::Internal {
            message: message.into(),
            source: None,
        }
    }
}
