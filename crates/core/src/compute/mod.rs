//! Compute: instances that are containers, their lifecycle, logs, stats
//! and the reconciliation that keeps their recorded state true.

mod domain;
mod exec;
mod ports;
mod service;
mod tags;
#[cfg(test)]
mod tests;

pub use domain::{
    ClientToken, DEFAULT_INSTANCE_TYPE, Ec2InstanceId, INSTANCE_TYPES, ImageSummary, Instance,
    InstanceId, InstanceName, InstancePosition, InstanceState, InstanceType, LaunchOrigin,
    LaunchRequest, MAX_CLIENT_TOKEN_CHARS, MAX_PORTS, PAUSED_REASON, PortMapping, Protocol,
    PublishedPort, RESUMED_START_FAILED, STOPPED_BY_REQUEST, StopCause, instance_type,
    join_command, split_command, validate_command, validate_env, validate_image,
};
pub use exec::{
    ExecChunk, ExecRun, ExecSpec, MAX_EXEC_STDIN_BYTES, MAX_TERMINAL_CELLS, TerminalInput,
    TerminalResizer, TerminalSize, TtyRun,
};
pub use ports::{
    ComputeDriver, ContainerEvent, ContainerInfo, ContainerSpec, ContainerStatus, ContainerSummary,
    EventStream, InstanceRepo, InstanceStats, ListQuery, LogOptions, LogStream,
};
pub use service::{
    ComputeService, ComputeSettings, DEFAULT_PAGE_SIZE, InstancePage, MAX_PAGE_SIZE,
    check_launch_request,
};
pub use tags::{
    COMMAND_TAG, Labels, MAX_TAG_KEY_CHARS, MAX_TAG_VALUE_CHARS, MAX_TAGS, MINIAWS_PREFIX,
    NAME_TAG, PORTS_TAG, validate_tag, validate_tags,
};
