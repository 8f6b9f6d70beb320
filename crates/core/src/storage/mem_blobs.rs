//! An in-memory [`BlobStore`] for the unit tests of the storage and
//! multipart services (one fake, so both test the same behaviour).

use async_trait::async_trait;
use bytes::Bytes;
use futures::{StreamExt, stream};
use md5::{Digest, Md5};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use super::{BlobId, BlobStore, ByteRange, ByteStream, WrittenBlob};
use crate::Resource;
use crate::error::{CoreError, CoreResult};

/// Blobs held in a map; `temporaries` is what the next
/// `remove_temporaries` reports (and resets).
#[derive(Default)]
pub(crate) struct MemBlobs {
    pub(crate) blobs: Mutex<HashMap<BlobId, Vec<u8>>>,
    pub(crate) temporaries: Mutex<usize>,
    /// What `free_bytes` reports (`None`: unknown).
    pub(crate) free: Mutex<Option<u64>>,
    /// How many blobs `compose` made.
    pub(crate) composed: Mutex<usize>,
}

impl MemBlobs {
    /// The ids of every stored blob.
    pub(crate) fn ids(&self) -> HashSet<BlobId> {
        self.blobs.lock().unwrap().keys().copied().collect()
    }
}

#[async_trait]
impl BlobStore for MemBlobs {
    async fn write(
        &self,
        id: BlobId,
        mut body: ByteStream,
        max_size_bytes: u64,
    ) -> CoreResult<WrittenBlob> {
        let mut data = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| match e.downcast::<CoreError>() {
                Ok(core) => core,
                Err(e) => CoreError::invalid(format!("upload interrupted: {e}")),
            })?;
            data.extend_from_slice(&chunk);
            if data.len() as u64 > max_size_bytes {
                return Err(CoreError::TooLarge("too large".into()));
            }
        }
        let md5: [u8; 16] = Md5::digest(&data).into();
        let size_bytes = data.len() as u64;
        self.blobs.lock().unwrap().insert(id, data);
        Ok(WrittenBlob { size_bytes, md5 })
    }

    async fn read(
        &self,
        id: BlobId,
        size: Option<u64>,
        range: Option<ByteRange>,
    ) -> CoreResult<ByteStream> {
        let data = self
            .blobs
            .lock()
            .unwrap()
            .get(&id)
            .cloned()
            .ok_or_else(|| CoreError::not_found(Resource::Object, id.to_string()))?;
        if let Some(size) = size.filter(|s| *s != data.len() as u64) {
            return Err(CoreError::internal_msg(format!(
                "blob {id} holds {} bytes, not {size}",
                data.len()
            )));
        }
        let data = match range {
            Some(r) => data[r.start as usize..=r.end as usize].to_vec(),
            None => data,
        };
        // Chunks of 1 MiB, as a file read would give.
        let chunks: Vec<Result<Bytes, std::io::Error>> = data
            .chunks(1 << 20)
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        Ok(stream::iter(chunks).boxed())
    }

    async fn compose(&self, id: BlobId, parts: &[BlobId]) -> CoreResult<u64> {
        let mut blobs = self.blobs.lock().unwrap();
        let mut data = Vec::new();
        for part in parts {
            let bytes = blobs
                .get(part)
                .ok_or_else(|| CoreError::not_found(Resource::Object, part.to_string()))?;
            data.extend_from_slice(bytes);
        }
        let size = data.len() as u64;
        blobs.insert(id, data);
        *self.composed.lock().unwrap() += 1;
        Ok(size)
    }

    async fn delete(&self, id: BlobId) -> CoreResult<()> {
        self.blobs.lock().unwrap().remove(&id);
        Ok(())
    }

    async fn list(&self) -> CoreResult<Vec<BlobId>> {
        Ok(self.ids().into_iter().collect())
    }

    async fn remove_temporaries(&self) -> CoreResult<usize> {
        Ok(std::mem::take(&mut *self.temporaries.lock().unwrap()))
    }

    fn free_bytes(&self) -> Option<u64> {
        *self.free.lock().unwrap()
    }
}
