//! `cloud auth …`: sign-up, login, whoami and API keys.

use anyhow::Result;
use comfy_table::Cell;
use miniaws_client::{ApiKey, ClientError, CreatedKey, StatusCode, redact_key};
use std::io::BufRead;
use time::OffsetDateTime;

use crate::cli::{AuthCommand, KeysCommand};
use crate::config::Profile;
use crate::context::Ctx;
use crate::error::user;
use crate::output::{relative_time, short_id};
use crate::resolve::{Kind, resolve};

/// Runs one `cloud auth` command.
pub async fn run(ctx: &mut Ctx, cmd: AuthCommand) -> Result<()> {
    match cmd {
        AuthCommand::CreateDemo { name, force } => create_demo(ctx, &name, force).await,
        AuthCommand::Login { key } => login(ctx, &key).await,
        AuthCommand::Whoami => whoami(ctx).await,
        AuthCommand::AwsEnv { aws_endpoint } => aws_env(ctx, aws_endpoint.as_deref()),
        AuthCommand::Keys(KeysCommand::List) => list_keys(ctx).await,
        AuthCommand::Keys(KeysCommand::Create { name, save_as }) => {
            create_key(ctx, &name, save_as.as_deref()).await
        }
        AuthCommand::Keys(KeysCommand::Revoke { id, force }) => revoke_key(ctx, &id, force).await,
    }
}

async fn create_demo(ctx: &mut Ctx, name: &str, force: bool) -> Result<()> {
    if let Some(existing) = ctx.profile().filter(|p| p.api_key.is_some())
        && !force
    {
        return Err(user(format!(
            "profile \"{}\" already holds a key{}: pass --profile <new-name> to keep both, \
             or --force to replace it",
            ctx.profile_name,
            existing
                .user
                .as_deref()
                .map(|u| format!(" (user {u})"))
                .unwrap_or_default()
        )));
    }
    let created = ctx.anonymous()?.create_key(name).await?;
    let saved = ctx.save_profile(created_profile(ctx.endpoint(), &created, name));
    let profile = ctx.profile_name.clone();
    let made = format!("user {} and its first API key", ctx.out.bold(name));
    shown_if_unsaved(ctx, &created, &made, &profile, saved)?;
    if ctx.out.json {
        return ctx.out.print_json(&created);
    }
    ctx.out.success(&format!(
        "Created user {} and its first API key (id {}).",
        ctx.out.bold(name),
        short_id(&created.id)
    ));
    print_secrets(ctx, &created);
    ctx.out.line(&format!(
        "Saved as profile \"{}\" in {}. Try: cloud auth whoami",
        ctx.profile_name,
        ctx.config_path.display()
    ));
    Ok(())
}

/// A profile holding a key just created, with its AWS key pair (which the
/// server shows only now).
fn created_profile(endpoint: String, created: &CreatedKey, user: &str) -> Profile {
    Profile {
        endpoint: Some(endpoint),
        api_key: Some(created.key.clone()),
        key_id: Some(created.id),
        user: Some(user.to_owned()),
        aws_access_key_id: Some(created.access_key_id.clone()),
        aws_secret_access_key: Some(created.secret_access_key.clone()),
        ..Profile::default()
    }
}

/// When saving a new key's profile failed (`saved`), shows the key anyway
/// before failing: it exists on the server now, and its secrets are never
/// shown again, so an error that left them unprinted would leave a key (and
/// with `create-demo`, a user name) nobody can use.
fn shown_if_unsaved(
    ctx: &Ctx,
    created: &CreatedKey,
    made: &str,
    profile: &str,
    saved: Result<()>,
) -> Result<()> {
    let Err(e) = saved else { return Ok(()) };
    if ctx.out.json {
        ctx.out.print_json(created)?;
    } else {
        ctx.out.line(&format!(
            "Created {made} (id {}), but it could not be saved:",
            short_id(&created.id)
        ));
        print_secrets(ctx, created);
    }
    Err(user(format!(
        "the key was created and is shown above, but saving it as profile \"{profile}\" failed: {e:#}; \
         keep the secrets from above, then `cloud auth login <key>` once the config can be written"
    )))
}

/// The secrets of a new key: shown once, here.
fn print_secrets(ctx: &Ctx, created: &CreatedKey) {
    ctx.out.line("");
    ctx.out.fields(&[
        ("  API key", created.key.clone()),
        ("  AWS access key id", created.access_key_id.clone()),
        ("  AWS secret access key", created.secret_access_key.clone()),
    ]);
    ctx.out.line("");
    ctx.out
        .line("These secrets are shown only now; the server keeps no copy it can show again.");
}

async fn login(ctx: &mut Ctx, key: &str) -> Result<()> {
    let key = if key == "-" {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        line.trim().to_owned()
    } else {
        key.trim().to_owned()
    };
    if key.is_empty() {
        return Err(user(
            "the key is empty: pass it as `cloud auth login <key>` or on stdin with `-`",
        ));
    }
    let me = ctx.anonymous()?.with_api_key(key.clone()).whoami().await?;
    let replaced = ctx
        .profile()
        .and_then(|p| p.api_key.as_deref())
        .filter(|old| *old != key)
        .map(redact_key);
    // The server never shows a key's AWS secret again, so a login keeps
    // none (`aws-env` says how to get one).
    ctx.save_profile(Profile {
        endpoint: Some(ctx.endpoint()),
        api_key: Some(key.clone()),
        key_id: Some(me.key_id),
        user: Some(me.user.name.clone()),
        ..Profile::default()
    })?;
    if ctx.out.json {
        return ctx.out.print_json(&me);
    }
    ctx.out.success(&format!(
        "Logged in to {} as {} with key {}.",
        ctx.endpoint(),
        ctx.out.bold(&me.user.name),
        redact_key(&key)
    ));
    let mut note = format!(
        "Saved as profile \"{}\" in {}",
        ctx.profile_name,
        ctx.config_path.display()
    );
    if let Some(old) = replaced {
        note.push_str(&format!(" (replacing key {old})"));
    }
    ctx.out.line(&format!("{note}."));
    Ok(())
}

async fn whoami(ctx: &mut Ctx) -> Result<()> {
    let me = ctx.client()?.whoami().await?;
    if ctx.out.json {
        return ctx.out.print_json(&me);
    }
    let key = ctx.api_key().map(|k| redact_key(&k)).unwrap_or_default();
    let source = if ctx.key_from_profile() {
        format!("profile \"{}\"", ctx.profile_name)
    } else {
        "--api-key / MINIAWS_API_KEY".to_owned()
    };
    ctx.out.fields(&[
        ("user", format!("{} ({})", me.user.name, me.user.id)),
        ("key", format!("{key} (id {})", me.key_id)),
        ("from", source),
        ("endpoint", ctx.endpoint()),
        (
            "member since",
            relative_time(me.user.created_at, OffsetDateTime::now_utc()),
        ),
    ]);
    Ok(())
}

async fn list_keys(ctx: &mut Ctx) -> Result<()> {
    let client = ctx.client()?;
    let (keys, me) = tokio::try_join!(client.list_keys(), client.whoami())?;
    if ctx.out.json {
        return ctx.out.print_json(&keys);
    }
    let now = OffsetDateTime::now_utc();
    let mut table = ctx
        .out
        .table(&["ID", "NAME", "KEY", "ACCESS KEY ID", "CREATED", "LAST USED"]);
    for k in &keys {
        let marker = if k.id == me.key_id { " (this one)" } else { "" };
        table.add_row(vec![
            Cell::new(short_id(&k.id)),
            Cell::new(format!("{}{marker}", k.name)),
            Cell::new(format!("{}…", k.prefix)),
            Cell::new(&k.access_key_id),
            Cell::new(relative_time(k.created_at, now)),
            Cell::new(
                k.last_used
                    .map(|t| relative_time(t, now))
                    .unwrap_or_else(|| "never".into()),
            ),
        ]);
    }
    ctx.out.print_table(&table);
    Ok(())
}

async fn create_key(ctx: &mut Ctx, name: &str, save_as: Option<&str>) -> Result<()> {
    if save_as.is_some_and(|t| t.trim().is_empty()) {
        // `--profile ""` selects the active profile: such a profile could
        // never be picked.
        return Err(user("--save-as needs a profile name (nothing was created)"));
    }
    if let Some(target) = save_as
        && ctx
            .named_profile(target)
            .is_some_and(|p| p.api_key.is_some())
    {
        return Err(user(format!(
            "profile \"{target}\" already holds a key: name another with --save-as (nothing was created)"
        )));
    }
    let client = ctx.client()?;
    let created = client.create_key(name).await?;
    if let Some(target) = save_as {
        let saved = match client.whoami().await {
            Ok(me) => ctx.save_named_profile(
                target,
                created_profile(ctx.endpoint(), &created, &me.user.name),
            ),
            Err(e) => Err(e.into()),
        };
        let made = format!("API key {}", ctx.out.bold(&created.name));
        shown_if_unsaved(ctx, &created, &made, target, saved)?;
    }
    if ctx.out.json {
        return ctx.out.print_json(&created);
    }
    ctx.out.success(&format!(
        "Created API key {} (id {}).",
        ctx.out.bold(name),
        short_id(&created.id)
    ));
    print_secrets(ctx, &created);
    match save_as {
        Some(target) => ctx.out.line(&format!(
            "Saved as profile \"{target}\" in {}. Use it with --profile {target}.",
            ctx.config_path.display()
        )),
        None => ctx.out.line(&format!(
            "It is not saved. To use it: cloud auth login {} --profile {name} \
             (or create it with --save-as PROFILE, which keeps its AWS secret for `cloud auth aws-env`)",
            created.key
        )),
    }
    Ok(())
}

/// The S3 endpoint beside `endpoint`: the same scheme and host, the AWS
/// listener's default port.
fn default_aws_endpoint(endpoint: &str) -> Result<String> {
    let mut url = miniaws_client::Url::parse(endpoint)
        .map_err(|e| user(format!("the endpoint {endpoint:?} is not a URL: {e}")))?;
    url.set_port(Some(4566))
        .map_err(|()| user(format!("the endpoint {endpoint:?} has no host")))?;
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// `--aws-endpoint` as given, checked: an http(s) URL with a host (the
/// SDKs refuse anything else, later and less clearly).
fn aws_endpoint_given(endpoint: &str) -> Result<String> {
    let url = miniaws_client::Url::parse(endpoint.trim())
        .map_err(|e| user(format!("--aws-endpoint {endpoint:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(user(format!(
            "--aws-endpoint {endpoint:?} is not an http(s) URL with a host, such as http://127.0.0.1:4566"
        )));
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Single-quotes `value` for a POSIX shell.
fn shell_quote(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

/// `cloud auth aws-env`: the variables every AWS tool reads, for this
/// profile's key. Secrets go to stdout only, as `eval` needs them.
fn aws_env(ctx: &Ctx, aws_endpoint: Option<&str>) -> Result<()> {
    let profile = ctx.profile();
    let (Some(id), Some(secret)) = (
        profile.and_then(|p| p.aws_access_key_id.clone()),
        profile.and_then(|p| p.aws_secret_access_key.clone()),
    ) else {
        return Err(user(format!(
            "profile \"{}\" keeps no AWS secret access key (the server shows one only when a key is created): \
             create a key that keeps it with `cloud auth keys create <name> --save-as <profile>`",
            ctx.profile_name
        )));
    };
    let endpoint = match aws_endpoint {
        Some(url) => aws_endpoint_given(url)?,
        None => default_aws_endpoint(&ctx.endpoint())?,
    };
    let vars = [
        ("AWS_ACCESS_KEY_ID", id),
        ("AWS_SECRET_ACCESS_KEY", secret),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_DEFAULT_REGION", "us-east-1".to_owned()),
        ("AWS_ENDPOINT_URL", endpoint),
    ];
    if ctx.out.json {
        let map: serde_json::Map<String, serde_json::Value> = vars
            .into_iter()
            .map(|(k, v)| (k.to_owned(), serde_json::Value::String(v)))
            .collect();
        return ctx.out.print_json(&map);
    }
    for (name, value) in vars {
        ctx.out
            .line(&format!("export {name}={}", shell_quote(&value)));
    }
    Ok(())
}

/// How keys are named in resolution messages.
const KEY: Kind = Kind {
    singular: "API key",
    list_command: "cloud auth keys list",
};

/// The caller's key with id, name or unique id prefix `wanted`.
fn resolve_key<'a>(keys: &'a [ApiKey], wanted: &str) -> Result<&'a ApiKey> {
    resolve(keys, wanted, &KEY, |k| k.id.to_string(), |k| Some(&k.name))
}

async fn revoke_key(ctx: &mut Ctx, wanted: &str, force: bool) -> Result<()> {
    let client = ctx.client()?;
    let keys = client.list_keys().await?;
    let key = resolve_key(&keys, wanted)?;
    match client.revoke_key(key.id, force).await {
        Err(ClientError::Api { status, .. }) if status == StatusCode::CONFLICT => {
            return Err(user(
                "that is your last API key and revoking it locks you out: create another with \
                 `cloud auth keys create <name>` first, or pass --force",
            ));
        }
        other => other?,
    }
    // A revoked key is useless: drop it from every profile holding it,
    // without changing which profile is active.
    let cleared = ctx.forget_key(key.id)?;
    if ctx.out.json {
        return ctx
            .out
            .print_json(&serde_json::json!({ "id": key.id, "revoked": true }));
    }
    ctx.out
        .success(&format!("Revoked API key {} ({}).", key.name, key.id));
    if !cleared.is_empty() {
        let names: Vec<String> = cleared.iter().map(|n| format!("\"{n}\"")).collect();
        ctx.out.line(&format!(
            "It was the key of profile {}; removed it from {}.",
            names.join(", "),
            ctx.config_path.display()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_aws_endpoint_is_beside_the_native_one() {
        assert_eq!(
            default_aws_endpoint("http://127.0.0.1:8080")
                .ok()
                .as_deref(),
            Some("http://127.0.0.1:4566")
        );
        assert_eq!(
            default_aws_endpoint("http://devbox.local").ok().as_deref(),
            Some("http://devbox.local:4566")
        );
        assert!(default_aws_endpoint("not a url").is_err());
        assert_eq!(
            aws_endpoint_given("http://box:4566/").ok().as_deref(),
            Some("http://box:4566")
        );
        for bad in ["not a url", "", "ftp://box", "file:///tmp"] {
            assert!(aws_endpoint_given(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn shell_values_are_single_quoted() {
        assert_eq!(shell_quote("a/b+c"), "'a/b+c'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
    use uuid::Uuid;

    fn key(id: &str) -> ApiKey {
        ApiKey {
            id: id.parse().expect("valid uuid"),
            user_id: Uuid::nil(),
            name: "k".into(),
            prefix: "mk_abcdef".into(),
            access_key_id: "AKIA".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            last_used: None,
        }
    }

    #[test]
    fn keys_resolve_by_id_or_unique_prefix() {
        let keys = [
            key("11111111-0000-4000-8000-000000000000"),
            key("11112222-0000-4000-8000-000000000000"),
            key("33333333-0000-4000-8000-000000000000"),
        ];
        let cases = [
            ("3", Some(2)),
            ("1111", None),
            ("11112", Some(1)),
            ("11111111-0000-4000-8000-000000000000", Some(0)),
            ("44", None),
            ("", None),
            ("44444444-0000-4000-8000-000000000000", None),
            ("k", None), // every key here is named "k"
        ];
        for (wanted, want) in cases {
            let got = resolve_key(&keys, wanted).ok().map(|k| k.id);
            assert_eq!(got, want.map(|i| keys[i].id), "case {wanted:?}");
        }
    }
}
