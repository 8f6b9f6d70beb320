//! Listing objects: prefix, delimiter (common prefixes), start-after and
//! page size, in byte order of the keys, on top of ordered range scans.

use super::domain::{Bucket, BucketName, ObjectSummary};
use super::ports::StorageRepo;
use crate::error::{CoreError, CoreResult};
use crate::identity::UserId;

/// The most entries (objects plus common prefixes) one page may hold.
pub const MAX_LIST_KEYS: u32 = 1000;

/// A half-open range of keys in byte order: `start <= key < end`.
///
/// Bounds are byte strings, not necessarily UTF-8: the successor of a prefix
/// (see [`key_successor`]) may end in a byte that is not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRange {
    /// Inclusive lower bound (empty: from the first key).
    pub start: Vec<u8>,
    /// Exclusive upper bound (`None`: to the last key).
    pub end: Option<Vec<u8>>,
}

impl KeyRange {
    /// Whether `key` lies in the range.
    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && self.end.as_deref().is_none_or(|end| key < end)
    }

    /// The range that holds `key` alone.
    pub fn exactly(key: &[u8]) -> Self {
        Self {
            start: key.to_vec(),
            end: Some(after(key)),
        }
    }
}

/// The smallest byte string greater than every string that starts with
/// `prefix`; `None` when there is none (empty, or all `0xff`).
pub fn key_successor(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut s = prefix.to_vec();
    while let Some(last) = s.pop() {
        if last < 0xff {
            s.push(last + 1);
            return Some(s);
        }
    }
    None
}

/// The immediate successor of `key` in byte order: `key` followed by NUL.
pub(crate) fn after(key: &[u8]) -> Vec<u8> {
    let mut s = key.to_vec();
    s.push(0);
    s
}

/// The most buckets one page of the native `GET /storage` may hold (and its
/// default page size).
pub const MAX_LIST_BUCKETS: u32 = 1000;

/// A half-open range of bucket names in byte order: `start <= name < end`.
///
/// Names are text on both backends (Postgres text cannot hold NUL), so both
/// bounds are strings; [`bucket_range`] builds them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameRange {
    /// Inclusive lower bound (empty: from the first name).
    pub start: String,
    /// Exclusive upper bound (`None`: to the last name).
    pub end: Option<String>,
}

impl NameRange {
    /// Whether `name` lies in the range.
    pub fn contains(&self, name: &str) -> bool {
        name >= self.start.as_str() && self.end.as_deref().is_none_or(|end| name < end)
    }
}

/// The smallest string greater than every string that starts with `prefix`,
/// in byte order (which, for UTF-8, is code point order); `None` when there
/// is none (empty, or only U+10FFFF).
pub fn name_successor(prefix: &str) -> Option<String> {
    let mut s: Vec<char> = prefix.chars().collect();
    while let Some(last) = s.pop() {
        // The next code point, stepping over the surrogates.
        let next = match last as u32 {
            0xD7FF => Some('\u{E000}'),
            n => char::from_u32(n + 1),
        };
        if let Some(next) = next {
            s.push(next);
            return Some(s.into_iter().collect());
        }
    }
    None
}

/// The names a bucket listing reads: those starting with `prefix` and
/// sorting after `after`; `None` when no bucket name can be in it (a NUL,
/// which no name holds and Postgres text cannot carry).
pub fn bucket_range(prefix: &str, after: Option<&str>) -> Option<NameRange> {
    if prefix.contains('\0') || after.is_some_and(|a| a.contains('\0')) {
        return None;
    }
    let mut start = prefix.to_owned();
    if let Some(after) = after {
        // The least string above `after` is `after` + NUL, which no name
        // holds; `after` + U+0001 is the least one that text can carry, and
        // nothing in between is a name.
        let resume = format!("{after}\u{1}");
        if resume > start {
            start = resume;
        }
    }
    let end = name_successor(prefix);
    if end.as_ref().is_some_and(|e| start >= *e) {
        return None;
    }
    Some(NameRange { start, end })
}

/// Which page of the caller's buckets to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListBucketsInput {
    /// Only names starting with this ("" for all).
    pub prefix: String,
    /// Only names after this one (where the previous page ended).
    pub after: Option<String>,
    /// Page size; `None` reads to the end (S3's ListBuckets without
    /// `max-buckets`).
    pub limit: Option<u32>,
}

/// One page of the caller's buckets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketPage {
    /// The buckets, in byte order of names.
    pub buckets: Vec<Bucket>,
    /// The last name of this page when more follow: pass it as `after` for
    /// the next page.
    pub next_after: Option<String>,
}

/// Reads one page of `owner`'s buckets from `repo`: one range scan of at
/// most `limit + 1` rows, the extra row telling whether more follow.
pub(crate) async fn list_buckets(
    repo: &dyn StorageRepo,
    owner: UserId,
    input: &ListBucketsInput,
) -> CoreResult<BucketPage> {
    let empty = BucketPage {
        buckets: Vec::new(),
        next_after: None,
    };
    let limit = input.limit.unwrap_or(u32::MAX);
    if limit == 0 {
        return Err(CoreError::invalid("a page holds at least one bucket"));
    }
    let Some(range) = bucket_range(&input.prefix, input.after.as_deref()) else {
        return Ok(empty);
    };
    let mut buckets = repo
        .list_buckets(owner, &range, limit.saturating_add(1))
        .await?;
    let next_after = if buckets.len() > limit as usize {
        buckets.truncate(limit as usize);
        buckets.last().map(|b| b.name.as_str().to_owned())
    } else {
        None
    };
    Ok(BucketPage {
        buckets,
        next_after,
    })
}

/// A listing request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListObjectsInput {
    /// Only keys starting with this.
    pub prefix: String,
    /// Roll keys that contain this after the prefix up into common prefixes.
    pub delimiter: Option<String>,
    /// Only entries after this key (S3's start-after or marker, or the
    /// position encoded in a continuation cursor). When it is a common prefix
    /// of this listing, everything under it is skipped too.
    pub start_after: Option<String>,
    /// Page size; at most [`MAX_LIST_KEYS`].
    pub max_keys: u32,
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListObjectsPage {
    /// Objects, in byte order of their keys.
    pub objects: Vec<ObjectSummary>,
    /// Common prefixes (with a delimiter), in byte order.
    pub common_prefixes: Vec<String>,
    /// Whether more entries follow.
    pub is_truncated: bool,
    /// The last entry of this page (key or common prefix) when truncated:
    /// pass it as `start_after` for the next page.
    pub next_start_after: Option<String>,
    /// The owner of the bucket listed (a listing's `Owner`, whoever reads).
    pub owner: UserId,
    /// The bucket listed.
    pub bucket: BucketName,
}

/// Runs a listing over `repo`.
pub(crate) async fn list(
    repo: &dyn StorageRepo,
    bucket: &Bucket,
    input: &ListObjectsInput,
) -> CoreResult<ListObjectsPage> {
    let owner = bucket.owner;
    let bucket = &bucket.name;
    if input.max_keys > MAX_LIST_KEYS {
        return Err(CoreError::invalid(format!(
            "max_keys may be at most {MAX_LIST_KEYS}"
        )));
    }
    if input.max_keys == 0 {
        return Ok(empty_page(owner, bucket));
    }
    let prefix = input.prefix.as_bytes();
    let delimiter = input.delimiter.as_deref().filter(|d| !d.is_empty());
    // The common prefix (if any) that `key` rolls up into.
    let rolled_up = |key: &str| -> Option<String> {
        let d = delimiter?;
        let rest = key.get(input.prefix.len()..)?;
        rest.find(d)
            .map(|i| key[..input.prefix.len() + i + d.len()].to_owned())
    };

    let end = if prefix.is_empty() {
        None
    } else {
        key_successor(prefix)
    };
    let mut start = prefix.to_vec();
    if let Some(sa) = &input.start_after {
        let resume = match rolled_up(sa) {
            // Resuming after a common prefix skips everything under it.
            Some(cp) if cp == *sa => key_successor(sa.as_bytes()),
            _ => Some(after(sa.as_bytes())),
        };
        match resume {
            Some(r) if r > start => start = r,
            Some(_) => {}
            None => return Ok(empty_page(owner, bucket)),
        }
    }

    let mut page = empty_page(owner, bucket);
    let mut count = 0u32;
    // The last entry taken: a common prefix, or (`None`) the last object.
    // Objects' keys are not copied per row: the page holds them.
    let mut last_prefix: Option<String> = None;
    'scan: loop {
        if end.as_ref().is_some_and(|e| start >= *e) {
            break;
        }
        // One more than needed tells whether the page is truncated.
        let want = input.max_keys - count + 1;
        let range = KeyRange {
            start: start.clone(),
            end: end.clone(),
        };
        let rows = repo.list_objects(bucket, &range, want).await?;
        let exhausted = (rows.len() as u32) < want;
        if rows.is_empty() {
            break;
        }
        page.objects.reserve(rows.len());
        for row in rows {
            if count == input.max_keys {
                page.is_truncated = true;
                break 'scan;
            }
            if let Some(cp) = rolled_up(row.key.as_str()) {
                count += 1;
                let next = key_successor(cp.as_bytes());
                page.common_prefixes.push(cp.clone());
                last_prefix = Some(cp);
                match next {
                    Some(next) => {
                        start = next;
                        continue 'scan;
                    }
                    None => break 'scan,
                }
            }
            count += 1;
            last_prefix = None;
            page.objects.push(row);
        }
        if exhausted {
            break;
        }
        // Every row of this batch was taken and the last was an object
        // (a common prefix continues the scan above): resume after it.
        if let Some(last) = page.objects.last() {
            start = after(last.key.as_str().as_bytes());
        }
    }
    if page.is_truncated {
        page.next_start_after =
            last_prefix.or_else(|| page.objects.last().map(|o| o.key.as_str().to_owned()));
    }
    Ok(page)
}

fn empty_page(owner: UserId, bucket: &BucketName) -> ListObjectsPage {
    ListObjectsPage {
        objects: Vec::new(),
        common_prefixes: Vec::new(),
        is_truncated: false,
        next_start_after: None,
        owner,
        bucket: bucket.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn successors_bound_every_extension_of_a_prefix() {
        assert_eq!(key_successor(b"abc"), Some(b"abd".to_vec()));
        assert_eq!(key_successor(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(key_successor(b"\xff\xff"), None);
        assert_eq!(key_successor(b""), None);
        let r = KeyRange {
            start: b"ph".to_vec(),
            end: key_successor(b"ph"),
        };
        assert!(r.contains(b"photo"));
        assert!(r.contains("ph\u{10ffff}".as_bytes()));
        assert!(!r.contains(b"pi"));
    }

    #[test]
    fn bucket_ranges_start_after_the_position_and_end_after_the_prefix() {
        assert_eq!(name_successor("abc").as_deref(), Some("abd"));
        assert_eq!(name_successor("a\u{10ffff}").as_deref(), Some("b"));
        assert_eq!(name_successor("\u{d7ff}").as_deref(), Some("\u{e000}"));
        assert_eq!(name_successor(""), None);
        let all = bucket_range("", None).unwrap();
        assert!(all.contains("a") && all.contains("zzz") && all.end.is_none());
        let after = bucket_range("", Some("abc")).unwrap();
        assert!(!after.contains("abc") && after.contains("abc-") && after.contains("abd"));
        let prefixed = bucket_range("ph", Some("pa")).unwrap();
        assert_eq!(prefixed.start, "ph", "the prefix is the later bound");
        assert!(prefixed.contains("photos") && !prefixed.contains("pi"));
        let resumed = bucket_range("ph", Some("photos")).unwrap();
        assert!(!resumed.contains("photos") && resumed.contains("photos2"));
        assert_eq!(bucket_range("ph", Some("pz")), None, "past the prefix");
        assert_eq!(bucket_range("a\0", None), None);
        assert_eq!(bucket_range("", Some("a\0")), None);
    }
}
