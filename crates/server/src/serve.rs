//! `miniaws serve`: wire the adapters and run the listeners until a signal.

use anyhow::Context;
use axum::serve::ListenerExt;
use miniaws_api::AppState;
use miniaws_core::clock::SystemClock;
use miniaws_core::compute::{ComputeDriver, ComputeService, ComputeSettings};
use miniaws_core::health::{HealthProbe, ProbeStatus};
use miniaws_core::identity::IdentityService;
use miniaws_core::lifecycle::LifecycleSweeper;
use miniaws_core::multipart::MultipartService;
use miniaws_core::storage::StorageService;
use miniaws_db::{Database, redact_url};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

use crate::banner::{self, Banner};
use crate::config::Config;

/// Runs the server until SIGINT or SIGTERM, then drains and closes the pool.
pub async fn serve(config: &Config, db: Database) -> anyhow::Result<()> {
    let applied = db.migrate_up().await?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }

    let docker = match miniaws_docker::connect(config.docker_host.as_deref()) {
        Ok(d) => Some(d),
        Err(e) => {
            tracing::warn!("Docker is not usable ({e}); compute is disabled");
            None
        }
    };
    let docker_probe: Arc<dyn HealthProbe> =
        Arc::new(miniaws_docker::DockerProbe::new(docker.clone()));
    let driver = docker.map(|conn| {
        Arc::new(miniaws_docker::DockerComputeDriver::new(
            conn,
            miniaws_docker::DockerSettings {
                publish_host: config.publish_host.to_string(),
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
    let storage = Arc::new(StorageService::new(
        db.storage_repo(),
        Arc::new(blobs),
        config.max_object_size,
    ));
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

    let multipart = Arc::new(MultipartService::new(db.multipart_repo(), storage.clone()));
    spawn_multipart_expiry(multipart.clone(), config.multipart_expiry_secs);
    spawn_lifecycle_sweep(
        LifecycleSweeper::new(storage.clone(), multipart.clone(), Arc::new(SystemClock)),
        Duration::from_secs(config.lifecycle_interval_secs),
    );

    let state = AppState {
        identity: Arc::new(IdentityService::new(db.identity_repo(), config.open_signup)),
        compute: compute.clone(),
        storage,
        multipart,
        database_probe: db.health_probe(),
        docker_probe: docker_probe.clone(),
        body_idle_timeout: std::time::Duration::from_secs(config.body_idle_timeout_secs),
    };

    let native_addr = config.native_addr();
    let native = TcpListener::bind(native_addr).await.with_context(|| {
        format!("cannot listen on {native_addr} (is another miniaws running? use --listen or PORT)")
    })?;
    let native_addr = native.local_addr()?;
    let aws_addr = config.aws_listen;
    let aws = TcpListener::bind(aws_addr).await.with_context(|| {
        format!("cannot listen on {aws_addr} for the AWS (S3) endpoint (is another miniaws or localstack running? use --aws-listen)")
    })?;
    let aws_addr = aws.local_addr()?;

    let docker_status = match docker_probe.check().await {
        ProbeStatus::Up => "reachable".to_owned(),
        ProbeStatus::Down(why) => format!("unreachable — compute answers 503 ({why})"),
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

    // Small JSON answers must not wait for delayed ACKs (~40 ms stalls).
    let native = native.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });
    let aws = aws.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("cannot set TCP_NODELAY: {e}");
        }
    });

    // One signal stops both listeners; each drains its in-flight requests.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let reconciler = crate::reconciler::spawn(
        compute,
        Duration::from_secs(config.resync_interval_secs),
        stop_rx.clone(),
    );
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let native_server = axum::serve(native, miniaws_api::native_router(state.clone()))
        .with_graceful_shutdown(stopped(stop_rx.clone()));
    let aws_server =
        axum::serve(aws, miniaws_api::aws_router(state)).with_graceful_shutdown(stopped(stop_rx));
    let signal = async move {
        shutdown_signal().await;
        let _ = stop_tx.send(true);
    };
    let (native_result, aws_result, ()) = tokio::join!(
        async { native_server.await.context("the native API server failed") },
        async { aws_server.await.context("the AWS (S3) endpoint failed") },
        signal,
    );
    native_result?;
    aws_result?;

    // The signal that stopped the listeners stopped the reconciler too.
    if tokio::time::timeout(Duration::from_secs(5), reconciler)
        .await
        .is_err()
    {
        tracing::warn!("the reconciler did not stop within 5 s");
    }
    tracing::info!("shutting down: closing the database pool");
    db.close().await;
    Ok(())
}

/// Removes multipart uploads older than `expiry_secs`, checking every
/// quarter of that (between 1 s and 1 h), for as long as the server runs.
fn spawn_multipart_expiry(multipart: Arc<MultipartService>, expiry_secs: u64) {
    let max_age = std::time::Duration::from_secs(expiry_secs);
    let every = (max_age / 4).clamp(
        std::time::Duration::from_secs(1),
        std::time::Duration::from_secs(3600),
    );
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = multipart.expire_abandoned(max_age).await {
                tracing::warn!(error = %e, "could not remove abandoned multipart uploads; retrying later");
            }
        }
    });
}

/// Enforces the buckets' lifecycle rules every `every`, from start-up on,
/// for as long as the server runs. S3 runs lifecycle about once a day; an
/// hour (the default) costs one ordered listing per covered prefix and
/// removes what expired at midnight soon after.
fn spawn_lifecycle_sweep(sweeper: LifecycleSweeper, every: Duration) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sweeper.sweep().await {
                tracing::warn!(error = %e, "the lifecycle sweep failed; retrying at the next one");
            }
        }
    });
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
