//! The native API answers only to the host names it is reached by.
//!
//! A web page can make a browser send requests to 127.0.0.1 through a name
//! of its own that it re-points there (DNS rebinding): to the browser the
//! API is then the page's own origin, so the page reads the answers. With
//! open sign-up on (the default) such a page could make itself a user and
//! launch containers on the developer's machine. A request whose `Host` is
//! not a loopback name (`localhost`, `*.localhost`, `127.0.0.1`, `[::1]`)
//! or one the operator allowed (`--allowed-hosts`) is refused with 403, as
//! development servers do. A listener bound to another address than
//! loopback (the operator chose to be reachable by other names) checks
//! nothing. The S3/EC2 listener needs no such check: its requests are
//! signed with a secret a page does not have, and what it serves unsigned
//! is public by the bucket owner's choice.

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use crate::error::ApiError;

/// The `Host` values a listener answers to.
#[derive(Debug, Clone)]
pub struct AllowedHosts {
    /// Every host: the listener is not on loopback.
    any: bool,
    /// Host names allowed beside the loopback ones, lowercase, without a
    /// port.
    extra: Vec<String>,
}

impl AllowedHosts {
    /// The hosts a listener on `addr` answers to: any, unless `addr` is a
    /// loopback address; then the loopback names and `extra` (host names,
    /// with or without a port, which is ignored).
    #[must_use]
    pub fn for_listener(addr: SocketAddr, extra: &[String]) -> Self {
        Self {
            any: !addr.ip().is_loopback(),
            extra: extra
                .iter()
                .map(|h| strip_port(h.trim()).to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect(),
        }
    }

    /// Whether a request with this `Host` header value is answered.
    #[must_use]
    pub fn allows(&self, host: &str) -> bool {
        if self.any {
            return true;
        }
        let name = strip_port(host).trim_end_matches('.');
        let suffix = name
            .len()
            .checked_sub(".localhost".len())
            .and_then(|at| name.get(at..));
        if name.eq_ignore_ascii_case("localhost")
            || suffix.is_some_and(|s| s.eq_ignore_ascii_case(".localhost"))
        {
            return true;
        }
        let bare = name.trim_start_matches('[').trim_end_matches(']');
        if bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback()) {
            return true;
        }
        self.extra.iter().any(|h| h.eq_ignore_ascii_case(name))
    }
}

/// `host` without its `:port` (an IPv6 literal keeps its brackets).
fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        return host
            .split_once(']')
            .map_or(host, |(ip, _)| &host[..=ip.len()]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// `router` answering only to `hosts`.
pub fn restrict(router: Router, hosts: AllowedHosts) -> Router {
    router.layer(axum::middleware::from_fn_with_state(Arc::new(hosts), check))
}

async fn check(State(hosts): State<Arc<AllowedHosts>>, req: Request, next: Next) -> Response {
    // The framing first: with two Host headers, which one to check?
    if let Some((status, message)) = crate::framing::problem(&req) {
        let kind = if status == StatusCode::NOT_IMPLEMENTED {
            "NOT_IMPLEMENTED"
        } else {
            "INVALID_INPUT"
        };
        return crate::error::ApiError::new(status, kind, message).into_response();
    }
    // On every request of the native API: the allowed path borrows the
    // header and allocates nothing. HTTP/1.0 clients may send no Host; a
    // browser always does.
    let refused = {
        let host = match req.headers().get(header::HOST) {
            Some(v) => Some(v.to_str().unwrap_or("\u{fffd}")),
            None => req.uri().authority().map(|a| a.as_str()),
        };
        host.filter(|h| !hosts.allows(h)).map(str::to_owned)
    };
    match refused {
        Some(host) => {
            tracing::info!(
                host = %host.escape_default(),
                path = %req.uri().path(),
                "request refused: its Host is not one this server answers to"
            );
            refusal(&host, &hosts.extra)
        }
        None => next.run(req).await,
    }
}

/// The 403 of a request naming `host`, on a listener that also answers to
/// the `extra` names. The advice adds to the list the operator gave: a bare
/// `--allowed-hosts NAME` would drop the names already allowed.
fn refusal(host: &str, extra: &[String]) -> Response {
    let name = strip_port(host).escape_default();
    let (also, advice) = if extra.is_empty() {
        (
            String::new(),
            format!("start it with --allowed-hosts {name}"),
        )
    } else {
        (
            format!(" and to {} (--allowed-hosts)", extra.join(", ")),
            format!("add {name} to --allowed-hosts"),
        )
    };
    ApiError::new(
        StatusCode::FORBIDDEN,
        "FORBIDDEN",
        format!(
            "this server answers to loopback host names (localhost, *.localhost, 127.0.0.1, [::1]){also}; the Host `{}` is not one of them ({advice} to allow it)",
            host.escape_default(),
        ),
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loopback(extra: &[&str]) -> AllowedHosts {
        let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
        AllowedHosts::for_listener("127.0.0.1:8080".parse().unwrap(), &extra)
    }

    #[test]
    fn loopback_listeners_answer_to_loopback_names() {
        let hosts = loopback(&["dev.example:9000"]);
        for ok in [
            "localhost",
            "localhost:8080",
            "LOCALHOST.:8080",
            "api.localhost:8080",
            "127.0.0.1:8080",
            "127.9.9.9",
            "[::1]:8080",
            "[::1]",
            "dev.example:8080",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example:8080",
            "evil.example",
            "localhost.evil.example",
            "évil.localhos",
            "xé.localhost.x",
            "10.0.0.5:8080",
            "[::2]:8080",
            "",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
    }

    #[test]
    fn other_listeners_answer_to_any_host() {
        let hosts = AllowedHosts::for_listener("0.0.0.0:8080".parse().unwrap(), &[]);
        assert!(hosts.allows("evil.example"));
    }

    #[test]
    fn ports_come_off() {
        assert_eq!(strip_port("a.b:80"), "a.b");
        assert_eq!(strip_port("a.b"), "a.b");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
    }
}
