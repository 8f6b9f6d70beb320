//! Conditional writes: `If-None-Match: *` and `If-Match: "<etag>"` on
//! PutObject and CompleteMultipartUpload
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html>).
//!
//! The condition is checked once before the body is read (so a refused
//! write costs no transfer) and again, under a per-key lock, right before
//! the metadata commit. Every conditional write to a key takes that lock,
//! so two conditional writers of one key never both pass: of two
//! `If-None-Match: *` uploads racing to create a key, exactly one wins and
//! the other gets 412. An unconditional write is not serialised with them
//! (it takes no lock); it can land between a conditional writer's check and
//! its commit, a window of one database round trip.

use miniaws_core::CoreError;
use miniaws_core::identity::Caller;
use miniaws_core::storage::{Conditions, HeadObjectOutput, StorageService};
use s3s::dto::{self, ETagCondition};
use s3s::{S3Result, s3_error};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::object_error;

/// The conditions of one write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteConditions {
    /// `If-None-Match: *`: the key must not exist.
    if_none_match_any: bool,
    /// `If-Match`: the key must exist with this ETag (unquoted), or `*`.
    if_match: Option<String>,
}

impl WriteConditions {
    /// From the request's headers.
    ///
    /// # Errors
    /// `NotImplemented` for `If-None-Match` with an ETag (S3 accepts only
    /// `*` on writes).
    pub fn from_input(
        if_match: Option<ETagCondition>,
        if_none_match: Option<ETagCondition>,
    ) -> S3Result<Self> {
        let if_none_match_any = match if_none_match {
            None => false,
            Some(ETagCondition::Any) => true,
            Some(ETagCondition::ETag(_)) => {
                return Err(s3_error!(
                    NotImplemented,
                    "If-None-Match on a write accepts only `*`"
                ));
            }
        };
        let if_match = if_match.map(|c| match c {
            ETagCondition::Any => "*".to_owned(),
            ETagCondition::ETag(dto::ETag::Strong(v) | dto::ETag::Weak(v)) => v,
        });
        Ok(Self {
            if_none_match_any,
            if_match,
        })
    }

    /// Whether the write is unconditional.
    pub fn is_empty(&self) -> bool {
        !self.if_none_match_any && self.if_match.is_none()
    }

    /// Checks the conditions against the key's current version.
    ///
    /// # Errors
    /// `PreconditionFailed` (412) when the key exists under `If-None-Match:
    /// *` or has another ETag under `If-Match`; `NoSuchKey` (404) when it
    /// does not exist under `If-Match` (as S3 answers); bucket errors.
    pub async fn check(
        &self,
        storage: &StorageService,
        caller: Caller,
        bucket: &str,
        key: &str,
    ) -> S3Result<()> {
        if self.is_empty() {
            return Ok(());
        }
        let current = match storage
            .head_object(caller, bucket, key, &Conditions::default())
            .await
        {
            Ok(HeadObjectOutput::Found(meta) | HeadObjectOutput::NotModified(meta)) => Some(meta),
            Err(CoreError::NotFound {
                resource: miniaws_core::Resource::Object,
                ..
            }) => None,
            Err(e) => return Err(object_error(e)),
        };
        match (&current, &self.if_match) {
            (Some(_), _) if self.if_none_match_any => Err(s3_error!(
                PreconditionFailed,
                "At least one of the pre-conditions you specified did not hold: If-None-Match: * and the key exists"
            )),
            (None, Some(_)) => Err(s3_error!(
                NoSuchKey,
                "The specified key does not exist, so If-Match cannot hold."
            )),
            (Some(meta), Some(want)) if want != "*" && meta.etag.as_str() != want => {
                Err(s3_error!(
                    PreconditionFailed,
                    "At least one of the pre-conditions you specified did not hold: If-Match names another ETag"
                ))
            }
            _ => Ok(()),
        }
    }
}

/// A bucket and a key.
type KeyId = (String, String);

/// One async lock per (bucket, key) that a conditional write is using;
/// entries go away with their last user.
#[derive(Default)]
pub struct KeyLocks {
    locks: Mutex<HashMap<KeyId, Arc<tokio::sync::Mutex<()>>>>,
}

/// Holds a key's lock; releases it (and forgets the entry if nobody else
/// waits) when dropped.
pub struct KeyGuard<'a> {
    owner: &'a KeyLocks,
    key: KeyId,
    guard: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl KeyLocks {
    /// Waits for, then takes, the lock of `bucket`/`key`.
    pub async fn lock(&self, bucket: &str, key: &str) -> KeyGuard<'_> {
        let id = (bucket.to_owned(), key.to_owned());
        let lock = {
            let mut map = self
                .locks
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            map.entry(id.clone()).or_default().clone()
        };
        let guard = lock.lock_owned().await;
        KeyGuard {
            owner: self,
            key: id,
            guard: Some(guard),
        }
    }
}

impl Drop for KeyGuard<'_> {
    fn drop(&mut self) {
        drop(self.guard.take());
        let mut map = self
            .owner
            .locks
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // The map's own reference is the only one left: nobody holds or
        // waits for this lock.
        if map
            .get(&self.key)
            .is_some_and(|l| Arc::strong_count(l) == 1)
        {
            map.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn key_locks_serialise_one_key_and_forget_idle_keys() {
        let locks = Arc::new(KeyLocks::default());
        let held = locks.lock("b", "k").await;
        // Another key is free.
        drop(locks.lock("b", "other").await);
        let waiter = {
            let locks = locks.clone();
            tokio::spawn(async move {
                let _g = locks.lock("b", "k").await;
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(!waiter.is_finished(), "the same key waits for its holder");
        drop(held);
        waiter
            .await
            .expect("the waiter gets the lock once released");
        assert!(
            locks.locks.lock().expect("not poisoned").is_empty(),
            "idle keys are forgotten"
        );
    }

    #[test]
    fn write_conditions_accept_only_star_for_if_none_match() {
        assert!(
            WriteConditions::from_input(None, None)
                .expect("none")
                .is_empty()
        );
        let c = WriteConditions::from_input(None, Some(ETagCondition::Any)).expect("star");
        assert!(c.if_none_match_any);
        let c = WriteConditions::from_input(
            Some(ETagCondition::ETag(dto::ETag::Strong("abc".into()))),
            None,
        )
        .expect("if-match");
        assert_eq!(c.if_match.as_deref(), Some("abc"));
        assert!(
            WriteConditions::from_input(
                None,
                Some(ETagCondition::ETag(dto::ETag::Strong("abc".into())))
            )
            .is_err()
        );
    }
}
