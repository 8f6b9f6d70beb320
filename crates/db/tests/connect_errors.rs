//! What `Database::connect` tells a user whose Postgres answered but
//! refused the connection: the hint names what to fix (the credentials,
//! the database's name), not "start it", which is for a server that does
//! not answer; and the password never appears.

use miniaws_db::{Database, PoolSettings};
use miniaws_testkit::require_postgres;

/// `url` with its user's password replaced by `password`.
fn with_password(url: &str, password: &str) -> String {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let (userinfo, host) = rest.split_once('@').expect("credentials in the test URL");
    let user = userinfo.split(':').next().expect("a user");
    format!("{scheme}://{user}:{password}@{host}")
}

/// `url` naming the database `name` instead of its own.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let prefix = base.rsplit_once('/').expect("a path").0;
    match query {
        Some(q) => format!("{prefix}/{name}?{q}"),
        None => format!("{prefix}/{name}"),
    }
}

async fn connect_error(url: &str) -> String {
    match Database::connect(url, &PoolSettings::default()).await {
        Ok(_) => panic!("{url} must be refused"),
        Err(e) => e.to_string(),
    }
}

#[tokio::test]
async fn a_wrong_password_is_told_to_check_the_credentials() {
    let Some(admin) = require_postgres() else {
        return;
    };
    let text = connect_error(&with_password(&admin, "not-the-password-4711")).await;
    assert!(text.contains("refused the user name or password"), "{text}");
    assert!(!text.contains("start it"), "{text}");
    assert!(!text.contains("not-the-password-4711"), "{text}");
}

#[tokio::test]
async fn a_missing_database_is_told_to_create_it() {
    let Some(admin) = require_postgres() else {
        return;
    };
    let text = connect_error(&with_database(&admin, "miniaws_no_such_database")).await;
    assert!(text.contains("the database does not exist"), "{text}");
    assert!(!text.contains("start it"), "{text}");
}

#[tokio::test]
async fn a_server_that_does_not_answer_is_told_to_start_it() {
    // A port nothing listens on (the connect is refused at once).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    let settings = PoolSettings {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..PoolSettings::default()
    };
    let url = format!("postgres://cloud:secret-pw@127.0.0.1:{port}/miniaws");
    let text = match Database::connect(&url, &settings).await {
        Ok(_) => panic!("nothing listens on {port}"),
        Err(e) => e.to_string(),
    };
    assert!(text.contains("start it"), "{text}");
    assert!(!text.contains("secret-pw"), "{text}");
}
