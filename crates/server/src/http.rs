//! Serving a router on a listener: `axum::serve`'s accept loop, with what
//! `axum::serve` cannot be told — a deadline for a request's headers.
//!
//! Without one, a client that opens a connection and sends half a request
//! line (or nothing after a request) holds its connection and task for as
//! long as it likes; a few hundred of them exhaust the process's file
//! descriptors. hyper has the knob (`header_read_timeout`, which needs a
//! timer), `axum::serve` builds its hyper connection without exposing it,
//! so this module builds it, as axum's own "serve with hyper" example does:
//! hyper's HTTP/1.1 builder (HTTP/1.1 only, see `serve`) with upgrades (a
//! terminal session, `exec -it`, is a WebSocket), `TCP_NODELAY` on every
//! accepted socket, and a graceful shutdown that stops accepting and lets
//! every connection finish its request in flight.

use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::future::Future;
use std::time::Duration;
use tokio::net::TcpListener;

use crate::write_deadline::WriteDeadline;

/// Serves `router` on `listener` until `stop` completes, then waits for the
/// connections' requests in flight. A connection whose request headers do
/// not arrive whole within `header_timeout` (counted from its opening, or
/// from the end of its previous request while it is kept alive) is closed,
/// and so is one whose client reads nothing of its answer for
/// `write_timeout`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    header_timeout: Duration,
    write_timeout: Duration,
    stop: impl Future<Output = ()>,
) {
    // HTTP/1.1 only: every client of both APIs speaks it over plain TCP,
    // and the HTTP/2 half of hyper-util's `auto` builder opens a way around
    // the deadline — it first waits, with no deadline at all, for enough
    // bytes to tell the two protocols apart (a client that sends nothing,
    // or part of HTTP/2's preface, held its connection forever), and a
    // cleartext HTTP/2 connection has no idle timeout. hyper's own HTTP/1
    // builder, not `auto`'s: `auto` serves upgrades (which a WebSocket
    // needs) only through that same wait for the protocol, whatever it is
    // told.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout);
    // The graceful shutdown hyper-util's `GracefulShutdown` does, which
    // takes no upgradeable HTTP/1 connection: on `stop`, each connection
    // finishes its request in flight and closes, and serve waits for all.
    let (closing, closed) = tokio::sync::watch::channel(false);
    let connections = tokio_util::task::TaskTracker::new();
    let mut stop = std::pin::pin!(stop);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut stop => break,
        };
        let tcp = match accepted {
            Ok((tcp, _)) => tcp,
            Err(e) => {
                // Out of file descriptors and the like: axum::serve waits a
                // second too, rather than spinning on the error.
                tracing::warn!(error = %e, "accepting a connection failed; retrying in 1 s");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        // Small answers go out at once instead of waiting for more bytes.
        let _ = tcp.set_nodelay(true);
        let service = TowerToHyperService::new(router.clone());
        let conn = builder
            .serve_connection(
                TokioIo::new(WriteDeadline::new(tcp, write_timeout)),
                service,
            )
            .with_upgrades();
        let mut closed = closed.clone();
        connections.spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let served = tokio::select! {
                served = conn.as_mut() => served,
                () = async { let _ = closed.wait_for(|closing| *closing).await; } => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            if let Err(e) = served {
                tracing::debug!(error = %e, "a connection ended with an error");
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    connections.close();
    connections.wait().await;
}
