//! Stopping a command started with `docker exec`, which the Engine API
//! cannot do: an exec has no stop or kill call (moby/moby#9098), and it
//! ends only when its process does.
//!
//! Docker starts an exec'd process as the leader of a session of its own
//! (runc calls `setsid`), and every process it starts stays in that
//! session unless it leaves it. So the command and what it started are
//! the processes of the container whose session id is the exec's pid
//! (which `ExecInspect` gives, as the host sees it, once Docker has
//! recorded it: see [`read_inspect`]), and the descendants of those: a
//! child that left the session (`setsid sleep 600 &`) is still the child
//! of one of them. (A process that left both, a daemon's double fork,
//! is the container init's child and is not found.) They are killed
//! (SIGKILL, as `timeout -s KILL` would):
//!
//! 1. from here, when this process may signal them (the server runs as
//!    root, or as the user the container's processes run as);
//! 2. otherwise from inside the container: `kill -KILL <pids>` run as
//!    root there with the pids the container sees (the `NSpid` line of
//!    each process's `/proc/<pid>/status`), which needs a `kill` in the
//!    image (busybox, Debian, Alpine … have one; a distroless image has
//!    not).
//!
//! Only processes whose cgroup names the container are touched, so a pid
//! that is not the container's (Docker on another host or in a VM, whose
//! pids mean nothing here) is never signalled: then nothing is found and
//! the command is reported as not killed.

use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecOptions};
use rustix::process::{Pid, Signal, kill_process};
use std::time::Duration;

/// How long the in-container `kill` may take.
const KILL_EXEC_TIMEOUT: Duration = Duration::from_secs(10);

/// A process of the command, as the host and as the container see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Member {
    host_pid: i32,
    container_pid: i32,
}

/// Kills the command `exec_id` started in `container_id` and every
/// process of its session. True when they are gone (or the command had
/// ended already), false when they could not be killed.
pub(crate) async fn kill_exec(docker: &Docker, exec_id: &str, container_id: &str) -> bool {
    let (leader, container) = match leader_of(docker, exec_id).await {
        Leader::Ended => return true,
        Leader::Unknown => return false,
        Leader::Running { pid, container } => {
            (pid, container.unwrap_or_else(|| container_id.to_owned()))
        }
    };
    let scan = container.clone();
    let Ok(members) = tokio::task::spawn_blocking(move || command_members(leader, &scan)).await
    else {
        return false;
    };
    if members.is_empty() {
        tracing::warn!(
            exec_id,
            "a command's processes are not visible from here (Docker on another host?): it keeps running"
        );
        return false;
    }
    if signal_all(&members) {
        return true;
    }
    kill_inside(docker, &container, &members).await
}

/// How often Docker is asked again for an exec's pid it has not recorded.
const PID_POLL: Duration = Duration::from_millis(20);

/// Where an exec stands.
#[derive(Debug, PartialEq, Eq)]
enum Leader {
    /// Its command has ended.
    Ended,
    /// Its command runs as `pid` (the host's) in `container`.
    Running { pid: i32, container: Option<String> },
    /// Docker did not say in time.
    Unknown,
}

/// What one `ExecInspect` says: `None` when it must be asked again.
/// Right after a start, Docker reports the command not running and
/// without an exit code (not started yet), then running with pid 0 (its
/// first output may have come already): a kill then would take it for
/// ended, or look for the session of pid 0, and leave it running.
fn read_inspect(
    running: Option<bool>,
    exit_code: Option<i64>,
    pid: Option<i64>,
    container: Option<String>,
) -> Option<Leader> {
    if crate::driver::exec_ended(running, exit_code) {
        return Some(Leader::Ended);
    }
    if running != Some(true) {
        return None;
    }
    let pid = pid.and_then(|p| i32::try_from(p).ok()).filter(|p| *p > 0)?;
    Some(Leader::Running { pid, container })
}

/// The exec's state, asked until Docker has recorded the command's pid
/// (within [`KILL_EXEC_TIMEOUT`]).
async fn leader_of(docker: &Docker, exec_id: &str) -> Leader {
    let deadline = tokio::time::Instant::now() + KILL_EXEC_TIMEOUT;
    loop {
        let Ok(Ok(inspected)) =
            tokio::time::timeout_at(deadline, docker.inspect_exec(exec_id)).await
        else {
            return Leader::Unknown;
        };
        if let Some(leader) = read_inspect(
            inspected.running,
            inspected.exit_code,
            inspected.pid,
            inspected.container_id,
        ) {
            return leader;
        }
        if tokio::time::Instant::now() + PID_POLL > deadline {
            return Leader::Unknown;
        }
        tokio::time::sleep(PID_POLL).await;
    }
}

/// SIGKILL to every member from here; false when one may not be signalled
/// (a member that has ended meanwhile counts as killed).
fn signal_all(members: &[Member]) -> bool {
    members.iter().all(|m| {
        let Some(pid) = Pid::from_raw(m.host_pid) else {
            return false;
        };
        match kill_process(pid, Signal::KILL) {
            Ok(()) => true,
            Err(e) => e == rustix::io::Errno::SRCH,
        }
    })
}

/// `kill -KILL <container pids>`, run as root inside the container.
async fn kill_inside(docker: &Docker, container: &str, members: &[Member]) -> bool {
    let mut cmd = vec!["kill".to_owned(), "-KILL".to_owned()];
    cmd.extend(members.iter().map(|m| m.container_pid.to_string()));
    let run = async {
        let exec_id = start_detached(docker, container, cmd, Some("0"))
            .await
            .ok()?;
        crate::driver::exec_exit_code(docker, &exec_id)
            .await
            .ok()
            .flatten()
    };
    match tokio::time::timeout(KILL_EXEC_TIMEOUT, run).await {
        Ok(Some(0)) => true,
        outcome => {
            tracing::warn!(
                container,
                ?outcome,
                "could not kill a timed-out command inside its instance (no `kill` in the image?): it keeps running"
            );
            false
        }
    }
}

/// Starts `cmd` in `container` (as `user`, else the image's), detached;
/// its exec id.
async fn start_detached(
    docker: &Docker,
    container: &str,
    cmd: Vec<String>,
    user: Option<&str>,
) -> Result<String, bollard::errors::Error> {
    let options = CreateExecOptions {
        cmd: Some(cmd),
        user: user.map(str::to_owned),
        ..CreateExecOptions::default()
    };
    let created = docker.create_exec(container, options).await?;
    let detached = StartExecOptions {
        detach: true,
        ..StartExecOptions::default()
    };
    docker.start_exec(&created.id, Some(detached)).await?;
    Ok(created.id)
}

/// One process as `/proc/<pid>/stat` shows it.
#[derive(Debug, Clone, Copy)]
struct Process {
    pid: i32,
    parent: i32,
    session: i32,
}

/// Every process `/proc` shows.
fn processes() -> Vec<Process> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (parent, session) = parent_and_session(&stat)?;
            Some(Process {
                pid,
                parent,
                session,
            })
        })
        .collect()
}

/// The pids of session `leader` (the leader too) among `all`, and of
/// every descendant of one of them, in or out of the session.
fn session_and_descendants(all: &[Process], leader: i32) -> std::collections::HashSet<i32> {
    let mut chosen: std::collections::HashSet<i32> = all
        .iter()
        .filter(|p| p.session == leader)
        .map(|p| p.pid)
        .collect();
    loop {
        let before = chosen.len();
        for p in all {
            if chosen.contains(&p.parent) {
                chosen.insert(p.pid);
            }
        }
        if chosen.len() == before {
            return chosen;
        }
    }
}

/// The processes of the command `leader` leads (see the module's doc)
/// that belong to `container`, from `/proc`.
fn command_members(leader: i32, container: &str) -> Vec<Member> {
    let mut members: Vec<Member> = session_and_descendants(&processes(), leader)
        .into_iter()
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/cgroup"))
                .is_ok_and(|cgroup| cgroup.contains(container))
        })
        .filter_map(|host_pid| {
            let status = std::fs::read_to_string(format!("/proc/{host_pid}/status")).ok()?;
            Some(Member {
                host_pid,
                container_pid: innermost_pid(&status)?,
            })
        })
        .collect();
    // The leader first: once it is gone nothing else of the command runs
    // in its place.
    members.sort_by_key(|m| (m.host_pid != leader, m.host_pid));
    members
}

/// The parent's pid and the session id in a `/proc/<pid>/stat` line (its
/// fourth and sixth fields; the second, the command name in parentheses,
/// may hold spaces).
fn parent_and_session(stat: &str) -> Option<(i32, i32)> {
    let mut fields = stat[stat.rfind(')')? + 1..].split_whitespace();
    let parent = fields.nth(1)?.parse().ok()?;
    let session = fields.nth(1)?.parse().ok()?;
    Some((parent, session))
}

/// The pid in the innermost pid namespace, from `/proc/<pid>/status`'s
/// `NSpid` line (the host's pid first, the container's last).
fn innermost_pid(status: &str) -> Option<i32> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))?
        .split_whitespace()
        .last()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_command_not_started_or_without_a_pid_is_asked_again() {
        let id = || Some("c1".to_owned());
        assert_eq!(
            read_inspect(Some(false), Some(0), Some(0), id()),
            Some(Leader::Ended)
        );
        assert_eq!(
            read_inspect(Some(false), Some(137), Some(4242), id()),
            Some(Leader::Ended)
        );
        assert_eq!(read_inspect(Some(false), None, Some(0), id()), None);
        assert_eq!(read_inspect(None, None, None, id()), None);
        assert_eq!(read_inspect(Some(true), None, Some(0), id()), None);
        assert_eq!(read_inspect(Some(true), None, None, id()), None);
        assert_eq!(
            read_inspect(Some(true), None, Some(4242), id()),
            Some(Leader::Running {
                pid: 4242,
                container: id()
            })
        );
    }

    #[test]
    fn stat_and_status_lines_are_read() {
        let stat = "6295 (sleep) S 6270 6295 6295 0 -1 4194560 97 0 0 0";
        assert_eq!(parent_and_session(stat), Some((6270, 6295)));
        let odd = "77 (a) b (c) S 1 70 71 0 -1";
        assert_eq!(parent_and_session(odd), Some((1, 71)));
        assert_eq!(parent_and_session("garbage"), None);
        let status = "Name:\tsleep\nNSpid:\t6295\t7\nPPid:\t1\n";
        assert_eq!(innermost_pid(status), Some(7));
        assert_eq!(innermost_pid("NSpid:\t12\n"), Some(12));
        assert_eq!(innermost_pid("Name:\tx\n"), None);
    }

    /// `docker …` (the CLI), which must succeed; its trimmed stdout.
    fn docker_cli(args: &[&str]) -> String {
        let out = std::process::Command::new("docker")
            .args(args)
            .output()
            .expect("the docker CLI runs");
        assert!(out.status.success(), "docker {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Removes the container when dropped.
    struct Removed(String);

    impl Drop for Removed {
        fn drop(&mut self) {
            let _ = std::process::Command::new("docker")
                .args(["rm", "-f", &self.0])
                .output();
        }
    }

    /// A real container: an exec'd shell with three children, one of which
    /// left the session (`setsid`), is found by its session and its
    /// descendants (and only in its container), and `kill` run inside the
    /// container, the path taken when the server may not signal the
    /// processes itself, ends all four.
    #[tokio::test]
    async fn the_session_is_found_and_killed_from_inside() {
        let Some(image) = miniaws_testkit::require_docker() else {
            return;
        };
        let cid = docker_cli(&["run", "-d", &image, "sleep", "600"]);
        let _removed = Removed(cid.clone());
        let docker = Docker::connect_with_local_defaults().expect("docker");
        let shell = [
            "sh",
            "-c",
            "sleep 300 & setsid sleep 302 & sleep 301; echo never",
        ];
        let exec_id = start_detached(&docker, &cid, shell.map(str::to_owned).to_vec(), None)
            .await
            .expect("exec started");
        // Asked as a kill asks: right after the start Docker may not have
        // recorded the pid yet.
        let Leader::Running { pid: leader, .. } = leader_of(&docker, &exec_id).await else {
            panic!("the command runs");
        };
        let mut members = Vec::new();
        for _ in 0..100 {
            members = command_members(leader, &cid);
            if members.len() == 4 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(members.len(), 4, "sh and its three sleeps: {members:?}");
        assert_eq!(members[0].host_pid, leader, "the leader first");
        assert!(command_members(leader, "another-container").is_empty());
        let before = docker_cli(&["exec", &cid, "ps"]);
        assert!(
            before.contains("sleep 301") && before.contains("sleep 302"),
            "{before}"
        );

        assert!(kill_inside(&docker, &cid, &members).await);
        let mut after = String::new();
        for _ in 0..100 {
            after = docker_cli(&["exec", &cid, "ps"]);
            if !after.contains("sleep 30") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(!after.contains("sleep 30"), "{after}");
        assert!(
            after.contains("sleep 600"),
            "the container's own process stays: {after}"
        );
        assert!(
            kill_exec(&docker, &exec_id, &cid).await,
            "an ended command counts as killed"
        );
    }

    /// A command killed the moment it is started, or the moment its first
    /// output comes (a client that leaves at once), is killed: Docker has
    /// then not recorded it as running, or not recorded its pid, most
    /// times.
    #[tokio::test]
    async fn a_command_killed_as_it_starts_is_killed() {
        use bollard::exec::StartExecResults;
        use futures::StreamExt;
        let Some(image) = miniaws_testkit::require_docker() else {
            return;
        };
        let cid = docker_cli(&["run", "-d", &image, "sleep", "600"]);
        let _removed = Removed(cid.clone());
        let docker = Docker::connect_with_local_defaults().expect("docker");
        for round in 0..10 {
            let options = CreateExecOptions {
                attach_stdout: Some(true),
                cmd: Some(vec![
                    "sh".to_owned(),
                    "-c".to_owned(),
                    format!("echo started; exec sleep {}", 500 + round),
                ]),
                ..CreateExecOptions::default()
            };
            let exec_id = docker.create_exec(&cid, options).await.expect("create").id;
            let started = docker
                .start_exec(&exec_id, None::<StartExecOptions>)
                .await
                .expect("start");
            let StartExecResults::Attached { mut output, .. } = started else {
                panic!("attached");
            };
            if round % 2 == 1 {
                let first = tokio::time::timeout(Duration::from_secs(20), output.next())
                    .await
                    .expect("output comes");
                assert!(first.is_some(), "round {round}: output");
            }
            assert!(
                kill_exec(&docker, &exec_id, &cid).await,
                "round {round}: killed"
            );
            let code = crate::driver::exec_exit_code(&docker, &exec_id)
                .await
                .expect("inspect");
            assert_eq!(code, Some(137), "round {round}: ended by SIGKILL");
        }
    }

    #[test]
    fn a_child_that_left_the_session_is_still_a_member() {
        let p = |pid, parent, session| Process {
            pid,
            parent,
            session,
        };
        let all = [
            p(1, 0, 1),    // the container's init
            p(10, 1, 10),  // the exec'd command, its session's leader
            p(11, 10, 10), // its child
            p(12, 11, 12), // a grandchild that called setsid
            p(13, 12, 12), // and its child
            p(14, 1, 10),  // reparented to init, still in the session
            p(20, 1, 20),  // another command
            p(21, 20, 21), // its setsid child
        ];
        let mut chosen: Vec<i32> = session_and_descendants(&all, 10).into_iter().collect();
        chosen.sort_unstable();
        assert_eq!(chosen, [10, 11, 12, 13, 14]);
    }

    #[test]
    fn nothing_outside_the_container_is_a_member() {
        // This test's own session is in no container named so.
        let own = rustix::process::getpid().as_raw_nonzero().get();
        let (_, session) =
            parent_and_session(&std::fs::read_to_string("/proc/self/stat").unwrap()).unwrap();
        assert!(command_members(session, "no-such-container-id").is_empty());
        assert!(own > 0);
    }
}
