//! Listing objects: prefix, delimiter (common prefixes), start-after and
//! page size, in byte order of the keys, on top of ordered range scans.

use super::domain::{Bucket, ObjectMeta};
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
fn after(key: &[u8]) -> Vec<u8> {
    let mut s = key.to_vec();
    s.push(0);
    s
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
    pub objects: Vec<ObjectMeta>,
    /// Common prefixes (with a delimiter), in byte order.
    pub common_prefixes: Vec<String>,
    /// Whether more entries follow.
    pub is_truncated: bool,
    /// The last entry of this page (key or common prefix) when truncated:
    /// pass it as `start_after` for the next page.
    pub next_start_after: Option<String>,
    /// The owner of the bucket listed (a listing's `Owner`, whoever reads).
    pub owner: UserId,
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
        return Ok(empty_page(owner));
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
            None => return Ok(empty_page(owner)),
        }
    }

    let mut page = empty_page(owner);
    let mut count = 0u32;
    let mut last: Option<String> = None;
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
        for row in rows {
            if count == input.max_keys {
                page.is_truncated = true;
                break 'scan;
            }
            let key = row.key.as_str().to_owned();
            if let Some(cp) = rolled_up(&key) {
                count += 1;
                page.common_prefixes.push(cp.clone());
                last = Some(cp.clone());
                match key_successor(cp.as_bytes()) {
                    Some(next) => {
                        start = next;
                        continue 'scan;
                    }
                    None => break 'scan,
                }
            }
            count += 1;
            start = after(key.as_bytes());
            last = Some(key);
            page.objects.push(row);
        }
        if exhausted {
            break;
        }
    }
    if page.is_truncated {
        page.next_start_after = last;
    }
    Ok(page)
}

fn empty_page(owner: UserId) -> ListObjectsPage {
    ListObjectsPage {
        objects: Vec::new(),
        common_prefixes: Vec::new(),
        is_truncated: false,
        next_start_after: None,
        owner,
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
}
