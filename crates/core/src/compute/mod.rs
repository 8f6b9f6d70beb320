//! Compute: instances that are containers, their lifecycle, logs, stats
//! and the reconciliation that keeps their recorded state true.

mod domain;
mod exec;
mod ports;
mod service;
#[cfg(test)]
mod tests;

pub use domain::{
    DEFAULT_INSTANCE_TYPE, Ec2InstanceId, INSTANCE_TYPES, Instance, InstanceId, InstanceName,
    InstancePosition, InstanceState, InstanceType, LaunchRequest, MAX_PORTS, PortMapping, Protocol,
    PublishedPort, instance_type, split_command, validate_command, validate_env, validate_image,
};
pub use exec::{ExecChunk, ExecRun, ExecSpec};
pub use ports::{
    ComputeDriver, ContainerEvent, ContainerInfo, ContainerSpec, ContainerStatus, ContainerSummary,
    EventStream, InstanceRepo, InstanceStats, ListQuery, LogOptions, LogStream,
};
pub use service::{
    ComputeService, ComputeSettings, DEFAULT_PAGE_SIZE, InstancePage, MAX_PAGE_SIZE,
};
