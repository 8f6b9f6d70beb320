//! `miniaws serve`: wire the adapters and run the listeners until a signal.

use anyhow::Context;
use miniaws_api::AppState;
use miniaws_core::clock::SystemClock;
use miniaws_core::compute::{ComputeDriver, ComputeService, ComputeSettings};
use miniaws_core::health::{HealthProbe, ProbeStatus};
use miniaws_core::identity::{IdentityService, SecretSealer, SecretsKey};
use miniaws_core::lifecycle::LifecycleSweeper;
use miniaws_core::multipart::MultipartService;
use miniaws_core::storage::StorageService;
use miniaws_db::{Database, redact_url};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::banner::{self, Banner};
use crate::config::Config;

/// Runs the server until SIGINT or SIGTERM, then drains and closes the
/// pool; `secrets_key` seals the S3 secret access keys.
pub async fn serve(config: &Config, db: Database, secrets_key: &SecretsKey) -> anyhow::Result<()> {
    // The data directory and the database are held for this server by
    // `run` (main.rs) before it gets here.
    // Before the migrations: a database that cannot be the one this
    // directory's objects belong to is not written to.
    let url = redact_url(&config.effective_database_url());
    let recorded = crate::data_dir::refuse_another_database(&config.data_dir, &db, &url).await?;
    let applied = db.migrate_up().await?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    crate::users::warn_of_case_duplicates(&db).await?;
    // Before anything reads or sweeps the objects: they must be this
    // database's.
    let database_id = match (db.recorded_database_id().await?, &recorded) {
        (Some(id), _) => id,
        // A database in use without an id: a `migrate down` past 0025 took
        // it. It takes back the one its data directory recorded; a new
        // (or mistaken) empty database gets one of its own, which the
        // check then finds is not the directory's.
        (None, Some(recorded)) if db.holds_buckets().await? => db.database_id_or(recorded).await?,
        (None, _) => db.database_id().await?,
    };
    crate::data_dir::check_recorded(&config.data_dir, recorded.as_deref(), &database_id, &url)?;
    let identity = Arc::new(IdentityService::new(
        db.identity_repo(),
        SecretSealer::new(secrets_key),
        config.open_signup,
    ));
    seal_stored_secrets(&identity, &config.effective_secrets_key_file()).await?;

    let docker = match miniaws_docker::connect(config.docker_host.as_deref()) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!("Docker is not usable ({e}); compute is disabled");
            None
        }
    };
    let docker_probe: Arc<dyn HealthProbe> =
        Arc::new(miniaws_docker::DockerProbe::new(docker.clone()));
    let server_id = crate::data_dir::server_id(&config.data_dir)?;
    let driver = docker.map(|conn| {
        Arc::new(miniaws_docker::DockerComputeDriver::new(
            conn,
            miniaws_docker::DockerSettings {
                publish_host: config.publish_host.to_string(),
                server_id,
                pids_limit: i64::from(config.instance_pids_limit),
            },
        )) as Arc<dyn ComputeDriver>
    });
    let compute = Arc::new(ComputeService::new(
        db.instance_repo(),
        driver,
        ComputeSettings {
            stop_grace: Duration::from_secs(config.stop_grace_secs),
        },
    ));

    let objects_dir = config.data_dir.join("objects");
    let blobs = miniaws_blob::FsBlobStore::open(&objects_dir).with_context(|| {
        format!(
            "cannot prepare the object store in {}",
            objects_dir.display()
        )
    })?;
    let storage = Arc::new(
        StorageService::new(db.storage_repo(), Arc::new(blobs), config.max_object_size)
            .with_min_free_bytes(config.min_free_space),
    );
    warn_if_short_of_space(&storage, &objects_dir);
    // Object writes that queue while a commit is in flight share the next
    // transaction (group commit).
    if let Some(driver) = storage.commit_driver() {
        tokio::spawn(driver);
    }
    // Before serving: no write is in flight, so every temporary and every
    // blob without a row is debris of a crash.
    storage
        .sweep()
        .await
        .context("the start-up sweep of the object store failed")?;

    // One signal stops the listeners and the background tasks. Each task
    // watches it between steps, so a pass is never cut inside one (a row
    // deleted and its blob kept), and serve waits for them before closing
    // the pool they use.
    let (stop_tx, stop_rx) = watch::channel(false);
    let multipart = Arc::new(MultipartService::new(db.multipart_repo(), storage.clone()));
    let multipart_expiry = spawn_multipart_expiry(
        multipart.clone(),
        config.multipart_expiry_secs,
        stop_rx.clone(),
    );
    let lifecycle_sweep = spawn_lifecycle_sweep(
        LifecycleSweeper::new(storage.clone(), multipart.clone(), Arc::new(SystemClock)),
        Duration::from_secs(config.lifecycle_interval_secs),
        stop_rx.clone(),
    );

    let state = AppState {
        identity,
        compute: compute.clone(),
        storage,
        multipart,
        database_probe: db.health_probe(),
        docker_probe: docker_probe.clone(),
        body_idle_timeout: std::time::Duration::from_secs(config.body_idle_timeout_secs),
        shutdown: stop_rx.clone(),
        sessions: tokio_util::task::TaskTracker::new(),
    };
    let sessions = state.sessions.clone();

    let native_addr = config.native_addr();
    let native = TcpListener::bind(native_addr).await.with_context(|| {
        format!("cannot listen on {native_addr} (is another miniaws running? use --listen or PORT)")
    })?;
    let native_addr = native.local_addr()?;
    let aws_addr = config.aws_listen;
    let aws = TcpListener::bind(aws_addr).await.with_context(|| {
        format!("cannot listen on {aws_addr} for the AWS endpoint (S3, EC2, STS) (is another miniaws or localstack running? use --aws-listen)")
    })?;
    let aws_addr = aws.local_addr()?;

    let docker_status = match docker_probe.check().await {
        ProbeStatus::Up => "reachable".to_owned(),
        ProbeStatus::Down(why) | ProbeStatus::ReadOnly(why) => {
            format!("unreachable — compute answers 503 ({why})")
        }
        ProbeStatus::Disabled => "not configured".to_owned(),
    };
    banner::print(&Banner {
        native: native_addr,
        aws: Some(aws_addr),
        database: redact_url(&config.effective_database_url()),
        data_dir: &config.data_dir,
        docker: docker_status,
        open_signup: config.open_signup,
    });

    // The listeners drain their in-flight requests on the same signal.
    let reconciler = crate::reconciler::spawn(
        compute,
        Duration::from_secs(config.resync_interval_secs),
        stop_rx.clone(),
    );
    let stopped = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    // (`crate::http`: axum::serve's loop with a deadline for request
    // headers, and TCP_NODELAY so that small answers do not wait for
    // delayed ACKs.)
    let header_timeout = Duration::from_secs(config.header_timeout_secs);
    // The body-idle bound, the other way: a client that reads nothing of an
    // answer for as long as an upload may send nothing.
    let write_timeout = Duration::from_secs(config.body_idle_timeout_secs);
    let hosts =
        miniaws_api::host_check::AllowedHosts::for_listener(native_addr, &config.allowed_hosts);
    let native_server = crate::http::serve(
        native,
        miniaws_api::native_router(state.clone(), hosts),
        header_timeout,
        write_timeout,
        stopped(stop_rx.clone()),
    );
    let aws_server = crate::http::serve(
        aws,
        miniaws_api::aws_router(state),
        header_timeout,
        write_timeout,
        stopped(stop_rx),
    );
    let signal = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    tokio::join!(native_server, aws_server, signal);

    // Terminal sessions end on the same signal, each killing its command
    // (a command outliving its session would run on unseen).
    sessions.close();
    if tokio::time::timeout(SESSIONS_STOP_WAIT, sessions.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "terminal sessions did not end within {} s of the signal; their commands may still be running",
            SESSIONS_STOP_WAIT.as_secs()
        );
    }

    // The signal that stopped the listeners stopped the background tasks
    // too: each finishes the step in hand. They share one bounded wait.
    let deadline = tokio::time::Instant::now() + BACKGROUND_STOP_WAIT;
    for (task, handle) in [
        ("the lifecycle sweep", lifecycle_sweep),
        ("the multipart expiry", multipart_expiry),
        ("the reconciler", reconciler),
    ] {
        match tokio::time::timeout_at(deadline, handle).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!("{task} ended abnormally: {e}"),
            Err(_) => tracing::warn!(
                "{task} did not stop within {} s of the signal; leaving it (its next start resumes its work)",
                BACKGROUND_STOP_WAIT.as_secs()
            ),
        }
    }
    tracing::info!("shutting down: closing the database pool");
    db.close().await;
    Ok(())
}

/// Seals the secret access keys still stored in clear (written by versions
/// before sealing), before any request is served, and says once how many
/// sealed ones this key does not open. Counts only: never a key or secret.
async fn seal_stored_secrets(
    identity: &IdentityService,
    key_file: &std::path::Path,
) -> anyhow::Result<()> {
    let report = identity
        .seal_stored_secrets()
        .await
        .context("cannot seal the secret access keys stored in clear")?;
    if report.sealed > 0 {
        tracing::info!(
            sealed = report.sealed,
            "sealed the secret access keys that were stored in clear"
        );
    }
    if report.unopenable > 0 {
        tracing::warn!(
            keys = report.unopenable,
            file = %key_file.display(),
            "secret access keys in the database do not open with this secrets key file (it was replaced or lost): their S3 requests are refused with InvalidAccessKeyId until the file they were sealed with is back; their API keys still work, and new keys get new S3 credentials"
        );
    }
    Ok(())
}

/// How long serve waits, after the listeners have drained, for the
/// background tasks to finish the step in hand (one delete, one abort, one
/// resync with Docker, each under its own database or Docker timeout).
const BACKGROUND_STOP_WAIT: Duration = Duration::from_secs(5);

/// How long serve waits, after the listeners have drained, for the
/// terminal sessions to end: each kills its command first, which takes a
/// Docker call or two (and at most the kill's own 10 s bound).
const SESSIONS_STOP_WAIT: Duration = Duration::from_secs(15);

/// Waits for the next tick of `tick`; `false` once `stop` turns true (or
/// its sender is gone) instead.
async fn next_tick(tick: &mut tokio::time::Interval, stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        biased;
        _ = stop.wait_for(|stop| *stop) => false,
        _ = tick.tick() => true,
    }
}

/// Removes multipart uploads older than `expiry_secs`, checking every
/// quarter of that (between 1 s and 1 h), until `stop` turns true: a pass
/// in progress then finishes the upload in hand and the task ends.
fn spawn_multipart_expiry(
    multipart: Arc<MultipartService>,
    expiry_secs: u64,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    let max_age = std::time::Duration::from_secs(expiry_secs);
    let every = (max_age / 4).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(3600),
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while next_tick(&mut tick, &mut stop).await {
            let stopping = || *stop.borrow();
            if let Err(e) = multipart.expire_abandoned(max_age, &stopping).await {
                tracing::warn!(error = %e, "could not remove abandoned multipart uploads; retrying later");
            }
        }
        tracing::debug!("the multipart expiry stopped");
    })
}

/// Enforces the buckets' lifecycle rules every `every`, from start-up on,
/// until `stop` turns true: a sweep in progress then finishes the delete
/// or abort in hand and the task ends. S3 runs lifecycle about once a day;
/// an hour (the default) costs one ordered listing per covered prefix and
/// removes what expired at midnight soon after.
fn spawn_lifecycle_sweep(
    sweeper: LifecycleSweeper,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while next_tick(&mut tick, &mut stop).await {
            let stopping = || *stop.borrow();
            if let Err(e) = sweeper.sweep(&stopping).await {
                tracing::warn!(error = %e, "the lifecycle sweep failed; retrying at the next one");
            }
        }
        tracing::debug!("the lifecycle sweep task stopped");
    })
}

/// Resolves on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("signal received: finishing in-flight requests");
}

/// Says at start-up when the data directory's disk already has less free
/// space than `--min-free-space`: uploads will be refused (507) until space
/// is freed, and the operator should learn why before the first one is.
fn warn_if_short_of_space(storage: &StorageService, objects_dir: &std::path::Path) {
    let reserve = storage.min_free_bytes();
    if let Some(free) = storage.blobs().free_bytes()
        && free < reserve
    {
        tracing::warn!(
            dir = %objects_dir.display(),
            free_bytes = free,
            min_free_bytes = reserve,
            "the data directory's disk has less free space than --min-free-space: uploads are refused (507) until space is freed"
        );
    }
}
