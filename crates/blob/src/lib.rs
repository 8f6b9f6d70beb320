//! Blob store adapter: object bytes on the local file system. Built in the storage issue.
