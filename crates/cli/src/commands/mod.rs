//! One module per command group.

pub mod auth;
pub mod completion;
pub mod compute;
pub mod compute_tty;
pub mod storage;
pub mod storage_copy;
pub mod storage_sync;
pub mod storage_tree;
