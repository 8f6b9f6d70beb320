//! S3 Object Lock: write-once-read-many protection of object versions
//! (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html>).
//!
//! A bucket with Object Lock enabled ([`ObjectLockConfig`], always
//! versioning `Enabled`) may give each new version a default retention;
//! each version carries its own [`ObjectLock`]: a retention (a
//! [`LockMode`] and a retain-until date) and a legal hold (never set, ON
//! or OFF: S3 tells "never set" apart). While either protects it, the version cannot be removed for good (a delete marker
//! still can be written over it). The rules of changing a lock are here,
//! in [`ObjectLock::apply`], so that both repositories apply the same ones
//! inside the transaction that writes the change.

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{CoreError, CoreResult};

/// A retention mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LockMode {
    /// Removable early by a caller with `s3:BypassGovernanceRetention` who
    /// asks for it (`x-amz-bypass-governance-retention: true`).
    #[serde(rename = "GOVERNANCE")]
    Governance,
    /// Removable by nobody until its date; never shortened, never turned
    /// into GOVERNANCE.
    #[serde(rename = "COMPLIANCE")]
    Compliance,
}

impl LockMode {
    /// S3's (and the database's) name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Governance => "GOVERNANCE",
            Self::Compliance => "COMPLIANCE",
        }
    }

    /// Parses S3's name (exactly, as S3 does).
    ///
    /// # Errors
    /// `InvalidInput` naming the value.
    pub fn parse(s: &str) -> CoreResult<Self> {
        match s {
            "GOVERNANCE" => Ok(Self::Governance),
            "COMPLIANCE" => Ok(Self::Compliance),
            other => Err(CoreError::invalid(format!(
                "the Object Lock mode `{other}` is not GOVERNANCE or COMPLIANCE"
            ))),
        }
    }
}

/// A version's retention: its mode and the date until which it is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    /// The mode.
    pub mode: LockMode,
    /// Until when the version is protected.
    pub retain_until: OffsetDateTime,
}

/// The lock of one object version. The default: none.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectLock {
    /// Its retention, if any.
    pub retention: Option<Retention>,
    /// Its legal hold: `None` when none was ever put on the version (S3's
    /// GetObjectLegalHold then answers 404 `NoSuchObjectLockConfiguration`
    /// and HeadObject sends no `x-amz-object-lock-legal-hold`), else
    /// whether it is ON (a hold put ON, then OFF, is `Some(false)`).
    pub legal_hold: Option<bool>,
}

/// What of a version's lock a reader may see in HeadObject's and
/// GetObject's answer: S3 sends `x-amz-object-lock-mode` and
/// `-retain-until-date` only to a requester with `s3:GetObjectRetention`,
/// `x-amz-object-lock-legal-hold` only to one with `s3:GetObjectLegalHold`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadObject.html>).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockView {
    /// The retention (mode and date) is seen.
    pub retention: bool,
    /// The legal hold is seen.
    pub legal_hold: bool,
}

impl LockView {
    /// Nothing of the lock is seen.
    pub const HIDDEN: Self = Self {
        retention: false,
        legal_hold: false,
    };
}

/// What of a new version's lock a write names itself, with its
/// `x-amz-object-lock-*` headers (PutObject, CopyObject,
/// CreateMultipartUpload). Each needs its permission besides
/// `s3:PutObject`, as on S3: a retention (`-mode` with
/// `-retain-until-date`) `s3:PutObjectRetention`, a legal hold (`-legal-hold`,
/// `ON` or `OFF`) `s3:PutObjectLegalHold`
/// (<https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html>);
/// a version that only gets the bucket's default retention needs neither.
/// Without them a writer allowed `s3:PutObject` alone could set a
/// COMPLIANCE retention that nobody can remove.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockHeaders {
    /// A retention header is sent.
    pub retention: bool,
    /// The legal-hold header is sent.
    pub legal_hold: bool,
}

impl LockHeaders {
    /// The lock headers among a request's (`has`: whether it sends the
    /// header named), whatever their values (those are checked apart).
    pub fn sent(has: impl Fn(&str) -> bool) -> Self {
        Self {
            retention: has(MODE_HEADER) || has(RETAIN_UNTIL_HEADER),
            legal_hold: has(LEGAL_HOLD_HEADER),
        }
    }
}

/// A change of a version's lock (PutObjectRetention, PutObjectLegalHold).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockChange {
    /// Sets (`Some`) or removes (`None`) the retention; `bypass` when the
    /// caller asked to bypass GOVERNANCE and may.
    Retention {
        /// The new retention.
        retention: Option<Retention>,
        /// Whether GOVERNANCE may be shortened or removed.
        bypass: bool,
    },
    /// Turns the legal hold on (`true`) or off: either way it is set.
    LegalHold(bool),
}

/// What [`crate::storage::StorageRepo::set_version_lock`] found at the
/// version it was asked to change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VersionLock {
    /// An object version: its lock is now this.
    Locked(ObjectLock),
    /// A delete marker, which has no lock: nothing changed.
    DeleteMarker {
        /// When the delete happened (S3 says it in the refusal's
        /// `Last-Modified`).
        last_modified: time::OffsetDateTime,
    },
    /// No such version of the key: nothing changed.
    Missing,
}

impl ObjectLock {
    /// The lock as a reader allowed `view` sees it: what they may not see
    /// reads as absent.
    pub fn seen_with(self, view: LockView) -> Self {
        Self {
            retention: self.retention.filter(|_| view.retention),
            legal_hold: self.legal_hold.filter(|_| view.legal_hold),
        }
    }

    /// Whether a legal hold is ON (never set and OFF hold nothing).
    pub fn held(&self) -> bool {
        self.legal_hold == Some(true)
    }

    /// Whether the lock keeps the version from being removed at `now`:
    /// a legal hold, or a retention whose date has not passed, unless it is
    /// GOVERNANCE and `bypass` (the caller asked for, and may, bypass it).
    pub fn protects(&self, now: OffsetDateTime, bypass: bool) -> bool {
        self.held()
            || self.retention.is_some_and(|r| {
                r.retain_until > now && (r.mode == LockMode::Compliance || !bypass)
            })
    }

    /// The refusal of removing a version this lock protects, S3's 403.
    pub fn refusal(&self) -> CoreError {
        CoreError::Forbidden(if self.held() {
            "Access Denied because object protected by object lock (a legal hold is on)".into()
        } else {
            "Access Denied because object protected by object lock (its retention has not expired)"
                .into()
        })
    }

    /// The lock after `change` at `now`, by S3's rules: a COMPLIANCE
    /// retention that has not expired can be neither shortened, removed,
    /// nor turned into GOVERNANCE, by anyone; a GOVERNANCE one only with
    /// the bypass, which turning it into COMPLIANCE needs too (S3: in
    /// governance mode users cannot "alter its lock settings unless they
    /// have special permissions"); a retention can always be extended in
    /// its mode (or set where there is none or it expired). A legal hold
    /// is independent of retention.
    ///
    /// # Errors
    /// `Forbidden` (S3's `AccessDenied`) for a change the rules refuse.
    pub fn apply(&self, change: &LockChange, now: OffsetDateTime) -> CoreResult<Self> {
        match *change {
            LockChange::LegalHold(on) => Ok(Self {
                legal_hold: Some(on),
                ..*self
            }),
            LockChange::Retention { retention, bypass } => {
                let Some(old) = self.retention.filter(|r| r.retain_until > now) else {
                    return Ok(Self { retention, ..*self });
                };
                let weakens = match retention {
                    None => true,
                    Some(new) => new.retain_until < old.retain_until || new.mode != old.mode,
                };
                if weakens && (old.mode == LockMode::Compliance || !bypass) {
                    return Err(CoreError::Forbidden(match old.mode {
                        LockMode::Compliance => "Access Denied because object protected by object lock: a COMPLIANCE retention can only be extended".into(),
                        LockMode::Governance => "Access Denied because object protected by object lock: shortening, removing or changing the mode of a GOVERNANCE retention needs x-amz-bypass-governance-retention: true and s3:BypassGovernanceRetention".into(),
                    }));
                }
                Ok(Self { retention, ..*self })
            }
        }
    }
}

/// The request headers naming a new version's lock, as S3 spells them.
pub const MODE_HEADER: &str = "x-amz-object-lock-mode";
/// See [`MODE_HEADER`].
pub const RETAIN_UNTIL_HEADER: &str = "x-amz-object-lock-retain-until-date";
/// See [`MODE_HEADER`].
pub const LEGAL_HOLD_HEADER: &str = "x-amz-object-lock-legal-hold";

impl ObjectLock {
    /// The lock a multipart upload was created with, kept among its stored
    /// headers under the request headers' names (by the S3 layer), taken
    /// out of them at completion (they are not response headers of their
    /// own). Values that do not parse are ignored: they were checked when
    /// the upload was created.
    pub fn take_from_headers(headers: &mut std::collections::BTreeMap<String, String>) -> Self {
        let lock = Self::of_headers(headers);
        for name in [MODE_HEADER, RETAIN_UNTIL_HEADER, LEGAL_HOLD_HEADER] {
            headers.remove(name);
        }
        lock
    }

    /// The lock kept among an upload's stored headers, left in place (see
    /// [`Self::take_from_headers`]).
    pub fn of_headers(headers: &std::collections::BTreeMap<String, String>) -> Self {
        let mode = headers.get(MODE_HEADER);
        let until = headers.get(RETAIN_UNTIL_HEADER);
        let retention = match (mode, until) {
            (Some(mode), Some(until)) => LockMode::parse(mode).ok().and_then(|mode| {
                OffsetDateTime::parse(until, &time::format_description::well_known::Rfc3339)
                    .ok()
                    .map(|retain_until| Retention { mode, retain_until })
            }),
            _ => None,
        };
        let legal_hold = match headers.get(LEGAL_HOLD_HEADER).map(String::as_str) {
            Some("ON") => Some(true),
            Some("OFF") => Some(false),
            _ => None,
        };
        Self {
            retention,
            legal_hold,
        }
    }

    /// [`Self::take_from_headers`]'s inverse: the headers to keep with an
    /// upload.
    pub fn to_headers(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        if let Some(r) = self.retention {
            out.push((MODE_HEADER.to_owned(), r.mode.as_str().to_owned()));
            let until = r
                .retain_until
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default();
            out.push((RETAIN_UNTIL_HEADER.to_owned(), until));
        }
        if let Some(on) = self.legal_hold {
            let status = if on { "ON" } else { "OFF" };
            out.push((LEGAL_HOLD_HEADER.to_owned(), status.to_owned()));
        }
        out
    }
}

/// A default retention period (S3's `DefaultRetention`: days or years).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetentionPeriod {
    /// So many days.
    Days(u32),
    /// So many years (of 365 days, as S3 counts them).
    Years(u32),
}

/// The most days (and years, times 365) a default retention may last: S3
/// documents no maximum beyond 100 years; Mini AWS takes that bound so a
/// date never overflows.
pub const MAX_RETENTION_DAYS: u32 = 36_500;

/// A bucket's default retention.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefaultRetention {
    /// The mode new versions get.
    pub mode: LockMode,
    /// For how long.
    #[serde(flatten)]
    pub period: RetentionPeriod,
}

impl DefaultRetention {
    /// Validates a default retention.
    ///
    /// # Errors
    /// `InvalidInput` for a period that is not positive or above 100 years.
    pub fn new(mode: LockMode, period: RetentionPeriod) -> CoreResult<Self> {
        let days = match period {
            RetentionPeriod::Days(d) => u64::from(d),
            RetentionPeriod::Years(y) => u64::from(y) * 365,
        };
        if days == 0 {
            return Err(CoreError::invalid(
                "Default retention period must be a positive integer value",
            ));
        }
        if days > u64::from(MAX_RETENTION_DAYS) {
            return Err(CoreError::invalid(
                "Default retention period is too large: at most 36500 days or 100 years",
            ));
        }
        Ok(Self { mode, period })
    }

    /// The retention a version written at `at` gets.
    pub fn retention_from(&self, at: OffsetDateTime) -> Retention {
        let days = match self.period {
            RetentionPeriod::Days(d) => i64::from(d),
            RetentionPeriod::Years(y) => i64::from(y) * 365,
        };
        Retention {
            mode: self.mode,
            retain_until: at + Duration::days(days),
        }
    }
}

/// S3's refusal of a write whose request carries no checksum of its body
/// (`Content-MD5` or an `x-amz-checksum-*` header or trailer) although it
/// sets an Object Lock retention or legal hold, or gets a bucket's default
/// retention. `request` is S3's name of it in the message: "Put Object",
/// "Put Part".
pub fn lock_needs_checksum(request: &str) -> CoreError {
    CoreError::InvalidRequest(format!(
        "Content-MD5 OR x-amz-checksum- HTTP header is required for {request} requests with \
         Object Lock parameters"
    ))
}

/// A bucket's Object Lock configuration: enabled, with or without a
/// default retention.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ObjectLockConfig {
    /// The default retention of new versions that name none.
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "rule")]
    pub default_retention: Option<DefaultRetention>,
}

impl ObjectLockConfig {
    /// Whether a new version that names no retention gets one in a bucket
    /// of this configuration (`None`: no Object Lock): the default's.
    pub fn retains_by_default(config: Option<&Self>) -> bool {
        config.is_some_and(|c| c.default_retention.is_some())
    }

    /// The stored form (a JSON object).
    pub fn to_stored(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{}".to_owned())
    }

    /// Reads the stored form back; one that does not decode reads as
    /// enabled without a default (never as "not enabled": that would
    /// unprotect the bucket).
    pub fn from_stored(stored: &str) -> Self {
        serde_json::from_str(stored).unwrap_or_default()
    }

    /// The lock a new version written at `at` gets: `asked` when the
    /// write names a retention, else the default's; with the write's
    /// legal hold.
    pub fn lock_for(&self, asked: ObjectLock, at: OffsetDateTime) -> ObjectLock {
        ObjectLock {
            retention: asked
                .retention
                .or_else(|| self.default_retention.map(|d| d.retention_from(at))),
            legal_hold: asked.legal_hold,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp(1_800_000_000 + secs).expect("a valid time")
    }

    fn ret(mode: LockMode, until: i64) -> Option<Retention> {
        Some(Retention {
            mode,
            retain_until: at(until),
        })
    }

    #[test]
    fn retention_changes_follow_s3() {
        use LockMode::{Compliance as C, Governance as G};
        let now = at(0);
        // (what, current, new, bypass, allowed)
        type Case = (
            &'static str,
            Option<Retention>,
            Option<Retention>,
            bool,
            bool,
        );
        let cases: &[Case] = &[
            ("set where none", None, ret(C, 10), false, true),
            ("extend COMPLIANCE", ret(C, 10), ret(C, 20), false, true),
            ("shorten COMPLIANCE", ret(C, 10), ret(C, 5), true, false),
            ("remove COMPLIANCE", ret(C, 10), None, true, false),
            (
                "COMPLIANCE to GOVERNANCE",
                ret(C, 10),
                ret(G, 20),
                true,
                false,
            ),
            ("expired COMPLIANCE", ret(C, -1), None, false, true),
            ("extend GOVERNANCE", ret(G, 10), ret(G, 20), false, true),
            (
                "GOVERNANCE to COMPLIANCE",
                ret(G, 10),
                ret(C, 20),
                false,
                false,
            ),
            (
                "GOVERNANCE to COMPLIANCE, bypass",
                ret(G, 10),
                ret(C, 10),
                true,
                true,
            ),
            ("shorten GOVERNANCE", ret(G, 10), ret(G, 5), false, false),
            (
                "shorten GOVERNANCE, bypass",
                ret(G, 10),
                ret(G, 5),
                true,
                true,
            ),
            ("remove GOVERNANCE", ret(G, 10), None, false, false),
            ("remove GOVERNANCE, bypass", ret(G, 10), None, true, true),
        ];
        for (what, current, new, bypass, allowed) in cases {
            let lock = ObjectLock {
                retention: *current,
                legal_hold: None,
            };
            let got = lock.apply(
                &LockChange::Retention {
                    retention: *new,
                    bypass: *bypass,
                },
                now,
            );
            assert_eq!(got.is_ok(), *allowed, "{what}: {got:?}");
            if let Ok(l) = got {
                assert_eq!(l.retention, *new, "{what}");
            }
        }
    }

    #[test]
    fn protection_and_defaults() {
        let now = at(0);
        let hold = ObjectLock {
            retention: None,
            legal_hold: Some(true),
        };
        assert!(hold.protects(now, true), "a legal hold is never bypassed");
        let gov = ObjectLock {
            retention: ret(LockMode::Governance, 10),
            legal_hold: None,
        };
        assert!(gov.protects(now, false));
        assert!(!gov.protects(now, true));
        assert!(!gov.protects(at(11), false), "expired");
        let comp = ObjectLock {
            retention: ret(LockMode::Compliance, 10),
            legal_hold: Some(false),
        };
        assert!(comp.protects(now, true));
        let both = ObjectLock {
            retention: ret(LockMode::Governance, 10),
            legal_hold: Some(true),
        };
        assert_eq!(both.seen_with(LockView::HIDDEN), ObjectLock::default());
        let retention_only = LockView {
            retention: true,
            legal_hold: false,
        };
        assert_eq!(
            both.seen_with(retention_only),
            ObjectLock {
                legal_hold: None,
                ..both
            }
        );
        let held = hold.apply(&LockChange::LegalHold(false), now).expect("off");
        assert!(!held.protects(now, false));
        assert_eq!(held.legal_hold, Some(false), "set OFF, not never set");

        assert!(DefaultRetention::new(LockMode::Governance, RetentionPeriod::Days(0)).is_err());
        assert!(DefaultRetention::new(LockMode::Governance, RetentionPeriod::Years(101)).is_err());
        let d = DefaultRetention::new(LockMode::Compliance, RetentionPeriod::Years(1)).expect("ok");
        let config = ObjectLockConfig {
            default_retention: Some(d),
        };
        let stored = config.to_stored();
        assert_eq!(stored, r#"{"rule":{"mode":"COMPLIANCE","years":1}}"#);
        assert_eq!(ObjectLockConfig::from_stored(&stored), config);
        assert_eq!(
            ObjectLockConfig::from_stored("{}"),
            ObjectLockConfig::default()
        );
        let lock = config.lock_for(ObjectLock::default(), now);
        assert_eq!(lock.retention, ret(LockMode::Compliance, 365 * 86_400));
        let asked = ObjectLock {
            retention: ret(LockMode::Governance, 5),
            legal_hold: Some(true),
        };
        assert_eq!(config.lock_for(asked, now), asked, "the write's own wins");
    }

    #[test]
    fn an_uploads_legal_hold_keeps_never_set_apart_from_off() {
        // (what, the upload's hold, the header kept with it)
        let cases = [
            ("never set", None, None),
            ("ON", Some(true), Some("ON")),
            ("OFF", Some(false), Some("OFF")),
        ];
        for (what, legal_hold, header) in cases {
            let lock = ObjectLock {
                retention: None,
                legal_hold,
            };
            let mut kept: std::collections::BTreeMap<String, String> =
                lock.to_headers().into_iter().collect();
            assert_eq!(
                kept.get(LEGAL_HOLD_HEADER).map(String::as_str),
                header,
                "{what}"
            );
            assert_eq!(ObjectLock::take_from_headers(&mut kept), lock, "{what}");
            assert!(kept.is_empty(), "{what}: taken out");
        }
    }

    #[test]
    fn lock_headers_sent_name_the_permissions_a_write_needs() {
        let sent = |names: &[&str]| LockHeaders::sent(|n| names.contains(&n));
        let cases = [
            ("none", vec![], (false, false)),
            (
                "mode and date",
                vec![MODE_HEADER, RETAIN_UNTIL_HEADER],
                (true, false),
            ),
            ("a mode alone", vec![MODE_HEADER], (true, false)),
            ("a date alone", vec![RETAIN_UNTIL_HEADER], (true, false)),
            ("a legal hold", vec![LEGAL_HOLD_HEADER], (false, true)),
            (
                "all three",
                vec![MODE_HEADER, RETAIN_UNTIL_HEADER, LEGAL_HOLD_HEADER],
                (true, true),
            ),
        ];
        for (what, names, (retention, legal_hold)) in cases {
            assert_eq!(
                sent(&names),
                LockHeaders {
                    retention,
                    legal_hold
                },
                "{what}"
            );
        }
    }
}
