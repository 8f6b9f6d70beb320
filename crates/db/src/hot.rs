//! A small cache of checked-out connections for the hot statements (the
//! lookups of every GET, HEAD and PUT, and the object commit).
//!
//! Why not the pool: sqlx 0.8 pings every connection returned to its pool,
//! unconditionally (`Floating::return_to_pool` in
//! `sqlx-core/src/pool/connection.rs`; no option turns it off, unlike
//! `test_before_acquire`). On SQLite that ping is a round trip to the
//! connection's worker thread (two thread wake-ups), on Postgres a network
//! round trip to the backend: with a statement that itself takes tens of
//! microseconds, the ping is a measurable share of a small GET.
//!
//! Why sqlx pings at all: a query future dropped mid-statement (a request
//! cancelled by its client, a timeout) can leave the connection with half a
//! conversation in flight; the ping drains it, or finds the connection
//! broken and closes it. The cache keeps that safety by taking a connection
//! back only from a [`Lease`] whose statement ran to its end and left the
//! connection usable ([`Lease::done`]): a lease dropped before that (the
//! future cancelled), or after a connection-level error, drops its
//! [`PoolConnection`], which goes back through sqlx's ordinary path (ping,
//! and close if broken).
//!
//! The cached connections are the pool's own ([`PoolConnection`]s acquired
//! from it): they count against `max_connections`, and sqlx still owns
//! their lifecycle. The cache keeps at most [`HotConnections::cap`] idle
//! ones (half the pool), so that the statements that use the pool directly
//! always have the other half; a connection returned beyond the cap, or one
//! left idle in the cache for 30 s (`RETURN_AFTER_IDLE`), or used by it for
//! sqlx's default maximum lifetime of 30 min (`RETURN_AFTER_USE`), goes back
//! to the pool.
//! [`HotConnections::close`] empties the cache and refuses connections from
//! then on: the pool's own close waits for every checked-out connection, so
//! [`Database::close`](crate::Database::close) calls it first.

use sqlx::pool::PoolConnection;
use sqlx::{Connection, Database, Pool};
use std::collections::VecDeque;
use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How long a connection may sit idle in the cache before a lease returns
/// it to the pool instead (where sqlx's idle timeout and maximum lifetime
/// apply again): the cache holds what the current load uses, not the
/// high-water mark of a past burst.
const RETURN_AFTER_IDLE: Duration = Duration::from_secs(30);

/// How long the cache keeps a connection in use, from its first lease,
/// before it returns it to the pool: sqlx's default maximum lifetime, which
/// sqlx enforces only on connections that come back to the pool (it then
/// closes this one and opens a fresh one when needed).
const RETURN_AFTER_USE: Duration = Duration::from_secs(30 * 60);

/// Checked-out connections of one pool, kept for the hot statements; see
/// the module documentation. Lease one with [`HotConnections::lease`].
#[derive(Debug)]
pub struct HotConnections<DB: Database> {
    pool: Pool<DB>,
    cap: usize,
    ping_if_idle_for: Option<Duration>,
    /// [`RETURN_AFTER_IDLE`] unless set by [`HotConnections::with_returns`].
    return_after_idle: Duration,
    /// [`RETURN_AFTER_USE`] unless set by [`HotConnections::with_returns`].
    return_after_use: Duration,
    state: Mutex<State<DB>>,
}

#[derive(Debug)]
struct State<DB: Database> {
    /// Idle connections, the most recently used last (leased first, LIFO).
    idle: VecDeque<Cached<DB>>,
    closed: bool,
}

#[derive(Debug)]
struct Cached<DB: Database> {
    conn: PoolConnection<DB>,
    /// When it was given back (idle since).
    since: Instant,
    /// When the cache first leased it.
    first: Instant,
}

impl<DB: Database> HotConnections<DB> {
    /// A cache over `pool` holding at most `cap` idle connections (none
    /// when `cap` is 0: every lease then ends in the pool). A connection idle in the cache for `ping_if_idle_for` or more
    /// is pinged before it is leased (as the Postgres pool does on
    /// acquire: the server may have gone away meanwhile); `None` never
    /// pings (SQLite: an in-process connection cannot go stale).
    pub fn new(pool: Pool<DB>, cap: usize, ping_if_idle_for: Option<Duration>) -> Self {
        Self {
            pool,
            cap,
            ping_if_idle_for,
            return_after_idle: RETURN_AFTER_IDLE,
            return_after_use: RETURN_AFTER_USE,
            state: Mutex::new(State {
                idle: VecDeque::new(),
                closed: false,
            }),
        }
    }

    /// The same cache with other limits than the defaults (30 s idle,
    /// 30 min of use): a connection idle in the cache for `idle`, or first
    /// leased `used` ago, goes back to the pool when a lease is given back.
    /// For tests, which cannot wait half an hour.
    #[must_use]
    pub fn with_returns(mut self, idle: Duration, used: Duration) -> Self {
        self.return_after_idle = idle;
        self.return_after_use = used;
        self
    }

    /// The most idle connections the cache keeps.
    pub fn cap(&self) -> usize {
        self.cap
    }

    /// How many idle connections the cache holds now.
    pub fn idle(&self) -> usize {
        self.lock().idle.len()
    }

    /// A connection for one hot statement: the most recently cached idle
    /// one, else a new one acquired from the pool (waiting as an acquire
    /// does). Call [`Lease::done`] with the statement's result to give it
    /// back to the cache.
    ///
    /// # Errors
    /// The pool's acquire errors (`PoolTimedOut`, `PoolClosed`, connect
    /// errors).
    pub async fn lease(&self) -> Result<Lease<'_, DB>, sqlx::Error> {
        loop {
            let cached = self.lock().idle.pop_back();
            let Some(Cached {
                mut conn,
                since,
                first,
            }) = cached
            else {
                let conn = self.pool.acquire().await?;
                let first = Instant::now();
                return Ok(Lease {
                    cache: self,
                    conn,
                    first,
                });
            };
            if self.ping_if_idle_for.is_some_and(|d| since.elapsed() >= d)
                && let Err(e) = conn.ping().await
            {
                // Dropped: sqlx's return path finds it broken and closes it.
                tracing::debug!(error = %e, "a cached database connection is broken; dropping it");
                continue;
            }
            return Ok(Lease {
                cache: self,
                conn,
                first,
            });
        }
    }

    /// Empties the cache (its connections go back to the pool) and keeps
    /// it empty: connections given back from now on go to the pool too.
    /// Returns how many were cached.
    pub fn close(&self) -> usize {
        let drained = {
            let mut state = self.lock();
            state.closed = true;
            std::mem::take(&mut state.idle)
        };
        drained.len()
    }

    /// Takes `conn` (first leased at `first`) back, unless the cache is
    /// closed or full or has used it for its use limit ([`RETURN_AFTER_USE`]);
    /// also returns to the pool the connections left idle for its idle
    /// limit ([`RETURN_AFTER_IDLE`]).
    fn put_back(&self, conn: PoolConnection<DB>, first: Instant) {
        let now = Instant::now();
        let cached = Cached {
            conn,
            since: now,
            first,
        };
        // Dropped after the lock is released (a drop spawns sqlx's return).
        let mut released = Vec::new();
        {
            let mut state = self.lock();
            while state
                .idle
                .front()
                .is_some_and(|c| now.duration_since(c.since) >= self.return_after_idle)
            {
                released.extend(state.idle.pop_front());
            }
            if state.closed
                || state.idle.len() >= self.cap
                || now.duration_since(first) >= self.return_after_use
            {
                released.push(cached);
            } else {
                state.idle.push_back(cached);
            }
        }
        drop(released);
    }

    fn lock(&self) -> MutexGuard<'_, State<DB>> {
        // The lock guards plain data and is never held across an await;
        // a panic elsewhere cannot leave it inconsistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// One connection leased from [`HotConnections`], for one statement (or
/// one transaction). It dereferences to the driver's connection. Give it
/// back with [`Lease::done`]; dropped without that, its connection goes
/// back to the pool through sqlx's ordinary path (ping, close if broken),
/// which is what a cancelled statement needs.
#[derive(Debug)]
pub struct Lease<'a, DB: Database> {
    cache: &'a HotConnections<DB>,
    conn: PoolConnection<DB>,
    first: Instant,
}

impl<DB: Database> Lease<'_, DB> {
    /// Ends the lease after a statement that ran to its end with `result`:
    /// the connection goes back to the cache when the result leaves it
    /// usable (success, or a database's refusal of the statement such as a
    /// unique violation), is not in a transaction and has nothing queued to
    /// send; else to the pool.
    ///
    /// "Nothing queued": a transaction dropped without commit or rollback
    /// (an early return with a refusal) only *queues* its ROLLBACK on
    /// Postgres (sqlx's `start_rollback`), and counts as ended. Cached, the
    /// connection would keep the transaction open on the server, with its
    /// row locks, until its next lease; the pool's return path flushes it
    /// at once (its ping sends what is queued first).
    pub fn done<T>(self, result: &Result<T, sqlx::Error>) {
        let usable = match result {
            Ok(_) => true,
            Err(e) => leaves_connection_usable(e),
        };
        if usable && !self.conn.is_in_transaction() && !self.conn.should_flush() {
            self.cache.put_back(self.conn, self.first);
        }
    }
}

impl<DB: Database> Deref for Lease<'_, DB> {
    type Target = DB::Connection;

    fn deref(&self) -> &DB::Connection {
        &self.conn
    }
}

impl<DB: Database> DerefMut for Lease<'_, DB> {
    fn deref_mut(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

/// Whether a statement that failed with `err` left its connection fit for
/// the next one: the database refused the statement and said so (a
/// constraint, a syntax error, a statement timeout), except the Postgres
/// SQLSTATEs of a lost connection (classes 08 and 57P, as in
/// `error::db_err`). I/O, TLS, protocol and worker failures are not.
fn leaves_connection_usable(err: &sqlx::Error) -> bool {
    match err {
        sqlx::Error::Database(db) => !db
            .code()
            .is_some_and(|c| c.starts_with("08") || c.starts_with("57P")),
        sqlx::Error::RowNotFound => true,
        _ => false,
    }
}
