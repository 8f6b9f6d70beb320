//! Instance tags through the EC2-compatible endpoint, driven by the real
//! aws CLI and boto3 against real containers, on SQLite and on Postgres:
//! tags given at launch are kept; `create-tags` adds and overwrites (a
//! `Name` renames the instance, natively too), `delete-tags` removes (by
//! value, or all but the fixed ones), `describe-tags` lists, filters and
//! pages; tags show in `describe-instances` and its tag filters, and in
//! the native API, whose `PATCH /instances/{id}/tags` edits them too.
//! Bad input (reserved keys, another resource type, another owner's
//! instance, a taken name, a fixed tag changed, the 50-tag limit) gets
//! EC2's codes (natively 400 and 404) and changes nothing; so does an
//! empty entry in the `miniaws:ports` tag at launch. Twenty concurrent
//! `create_tags` calls on one instance all land.

mod compute_support;

use compute_support::{ContainerGuard, Ec2Cli, launch};
use miniaws_client::{StatusCode, TagPatch};
use miniaws_testkit::{AwsClients, Backend, require_tool as tool, script_ok};
use std::collections::BTreeMap;
use std::path::Path;

#[tokio::test]
async fn ec2_tags_sqlite() {
    ec2_tags(Backend::Sqlite).await;
}

#[tokio::test]
async fn ec2_tags_postgres() {
    ec2_tags(Backend::Postgres).await;
}

/// The tags of `id` as `describe-tags` lists them, `key=value` per line.
async fn described(clients: &AwsClients, cli: &Path, id: &str) -> String {
    clients
        .ec2_text(
            cli,
            &[
                "describe-tags",
                "--filters",
                &format!("Name=resource-id,Values={id}"),
                "--query",
                "Tags[].join('=', [Key, Value])",
            ],
        )
        .await
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

async fn ec2_tags(backend: Backend) {
    let (Some(cli), Some(python)) = (tool("MINIAWS_TEST_AWS_CLI"), tool("MINIAWS_TEST_PYTHON"))
    else {
        return;
    };
    let Some((server, image)) = compute_support::server(backend).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (native, _, alice) = guard.aws_user(&server, "tags-alice").await;
    let (_, _, bob) = guard.aws_user(&server, "tags-bob").await;

    // Tags given at launch are kept, beside Name and the command.
    let tags = "ResourceType=instance,Tags=[{Key=Name,Value=tagged},\
        {Key=miniaws:command,Value=sleep 3600},{Key=env,Value=prod},{Key=team,Value=\"\"}]";
    let id = alice
        .ec2_text(
            &cli,
            &[
                "run-instances",
                "--image-id",
                &image,
                "--instance-type",
                "t3.nano",
                "--tag-specifications",
                tags,
                "--query",
                "Instances[0].InstanceId",
            ],
        )
        .await;
    assert_eq!(
        described(&alice, &cli, &id).await,
        "Name=tagged env=prod miniaws:command=sleep 3600 team="
    );
    let listed = native.list_instances(false).await.expect("list");
    let inst = listed
        .iter()
        .find(|i| i.ec2_instance_id == id)
        .expect("listed natively");
    assert_eq!(
        inst.tags,
        BTreeMap::from([
            ("env".to_owned(), "prod".to_owned()),
            ("team".to_owned(), String::new())
        ])
    );

    // create-tags adds and overwrites; Name renames the instance.
    alice
        .ec2_text(
            &cli,
            &[
                "create-tags",
                "--resources",
                &id,
                "--tags",
                "Key=env,Value=dev",
                "Key=owner,Value=alice",
                "Key=Name,Value=renamed",
                "Key=miniaws:command,Value=sleep 3600",
            ],
        )
        .await;
    assert_eq!(
        described(&alice, &cli, &id).await,
        "Name=renamed env=dev miniaws:command=sleep 3600 owner=alice team="
    );
    let now = native.get_instance(inst.id).await.expect("get");
    assert_eq!(now.name, "renamed");
    assert_eq!(now.tags.get("owner").map(String::as_str), Some("alice"));
    let found = alice
        .ec2_text(
            &cli,
            &[
                "describe-instances",
                "--filters",
                "Name=tag:owner,Values=ali*",
                "Name=tag:Name,Values=renamed",
                "--query",
                "Reservations[].Instances[].InstanceId",
            ],
        )
        .await;
    assert_eq!(found, id);

    // delete-tags: by key, by matching value only.
    alice
        .ec2_text(
            &cli,
            &[
                "delete-tags",
                "--resources",
                &id,
                "--tags",
                "Key=team",
                "Key=owner,Value=bob",
            ],
        )
        .await;
    assert_eq!(
        described(&alice, &cli, &id).await,
        "Name=renamed env=dev miniaws:command=sleep 3600 owner=alice"
    );

    // The native patch: set, remove, and the same rules.
    let patched = native
        .tag_instance(
            inst.id,
            &TagPatch::from([
                ("native".to_owned(), Some("yes".to_owned())),
                ("owner".to_owned(), None),
            ]),
        )
        .await
        .expect("patch");
    assert_eq!(
        patched.tags,
        BTreeMap::from([
            ("env".to_owned(), "dev".to_owned()),
            ("native".to_owned(), "yes".to_owned())
        ])
    );
    assert_eq!(
        described(&alice, &cli, &id).await,
        "Name=renamed env=dev miniaws:command=sleep 3600 native=yes"
    );
    for bad in ["Name", "aws:x", "miniaws:ports", ""] {
        let err = native
            .tag_instance(
                inst.id,
                &TagPatch::from([(bad.to_owned(), Some("v".into()))]),
            )
            .await
            .expect_err(bad);
        assert_eq!(err.status(), Some(StatusCode::BAD_REQUEST), "{bad}: {err}");
    }
    // A key given twice: which value was meant is not the server's guess.
    let twice = native
        .request(
            reqwest::Method::PATCH,
            &format!("/instances/{}/tags", inst.id),
        )
        .header("content-type", "application/json")
        .body(r#"{"x":"1","x":null}"#)
        .send()
        .await
        .expect("the server answers");
    assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
    let text = twice.text().await.expect("body");
    assert!(text.contains("duplicate key `x`"), "{text}");
    let (bob_native, _) = server.user("tags-carol").await;
    let err = bob_native
        .tag_instance(inst.id, &TagPatch::from([("x".to_owned(), None)]))
        .await
        .expect_err("another owner's instance");
    assert_eq!(err.status(), Some(StatusCode::NOT_FOUND), "{err}");
    native
        .tag_instance(
            inst.id,
            &TagPatch::from([
                ("native".to_owned(), None),
                ("owner".to_owned(), Some("alice".to_owned())),
            ]),
        )
        .await
        .expect("patch back");

    // Refusals change nothing.
    let before = described(&alice, &cli, &id).await;
    let err = alice
        .ec2_fails(
            &cli,
            "InvalidParameterValue",
            &[
                "create-tags",
                "--resources",
                &id,
                "--tags",
                "Key=aws:x,Value=1",
            ],
        )
        .await;
    assert!(err.contains("reserved"), "{err}");
    let err = alice
        .ec2_fails(
            &cli,
            "InvalidParameterValue",
            &[
                "create-tags",
                "--resources",
                &id,
                "--tags",
                "Key=miniaws:command,Value=sleep 1",
            ],
        )
        .await;
    assert!(err.contains("fixed at launch"), "{err}");
    alice
        .ec2_fails(
            &cli,
            "InvalidParameterValue",
            &[
                "delete-tags",
                "--resources",
                &id,
                "--tags",
                "Key=miniaws:command",
            ],
        )
        .await;
    alice
        .ec2_fails(
            &cli,
            "InvalidID",
            &[
                "create-tags",
                "--resources",
                "vol-0123",
                "--tags",
                "Key=a,Value=b",
            ],
        )
        .await;
    alice
        .ec2_fails(
            &cli,
            "InvalidInstanceID.Malformed",
            &[
                "create-tags",
                "--resources",
                "i-zz",
                "--tags",
                "Key=a,Value=b",
            ],
        )
        .await;
    bob.ec2_fails(
        &cli,
        "InvalidInstanceID.NotFound",
        &["create-tags", "--resources", &id, "--tags", "Key=a,Value=b"],
    )
    .await;
    bob.ec2_fails(
        &cli,
        "InvalidInstanceID.NotFound",
        &["delete-tags", "--resources", &id],
    )
    .await;
    let bobs = bob
        .ec2_text(&cli, &["describe-tags", "--query", "length(Tags)"])
        .await;
    assert_eq!(bobs, "0", "Bob sees none of Alice's tags");
    let err = alice
        .ec2_fails(
            &cli,
            "DryRunOperation",
            &[
                "create-tags",
                "--dry-run",
                "--resources",
                &id,
                "--tags",
                "Key=a,Value=b",
            ],
        )
        .await;
    assert!(err.contains("DryRun"), "{err}");
    // A second instance may not take the first's name.
    let other = native
        .launch_instance(&launch("other", &image, &["sleep", "3600"]))
        .await
        .expect("launch");
    alice
        .ec2_fails(
            &cli,
            "InvalidParameterValue",
            &[
                "create-tags",
                "--resources",
                &other.ec2_instance_id,
                "--tags",
                "Key=Name,Value=renamed",
            ],
        )
        .await;
    alice
        .ec2_fails(
            &cli,
            "InvalidParameterCombination",
            &[
                "create-tags",
                "--resources",
                &id,
                &other.ec2_instance_id,
                "--tags",
                "Key=Name,Value=both",
            ],
        )
        .await;
    assert_eq!(described(&alice, &cli, &id).await, before);
    assert_eq!(
        native.get_instance(other.id).await.expect("get").name,
        "other"
    );

    // boto3: the limit, concurrent edits, a paginator, delete all.
    script_ok(
        alice
            .command(&python)
            .arg("-c")
            .arg(BOTO3_SCRIPT)
            .env("ID", &id)
            .env("OTHER", &other.ec2_instance_id),
        "boto3 tags ok",
    )
    .await;
    let now = native.get_instance(inst.id).await.expect("get");
    assert_eq!(now.name, id, "all tags deleted: named after its id");
    assert!(now.tags.is_empty(), "{:?}", now.tags);
    assert_eq!(
        now.command.as_deref(),
        Some(&["sleep".to_owned(), "3600".to_owned()][..]),
        "the fixed tags stay"
    );

    for i in [inst.id, other.id] {
        native.terminate_instance(i).await.expect("terminate");
    }
}

/// An empty entry in the `miniaws:ports` tag of RunInstances (`80,`, `,`,
/// `80,,81`) is refused with 400 `InvalidParameterValue` saying so, as the
/// native API refuses an empty port spec, also under DryRun (the values
/// are checked first), and launches nothing; `80, 81` (blanks around
/// specs) is fine, and its `ClientToken` retry with the ports in their
/// full form (`80/tcp`) is the same launch. 51 tags, Name, ports and
/// command counted, are refused (`TagLimitExceeded`, DryRun too). boto3
/// through the real server.
#[tokio::test]
async fn an_empty_ports_entry_is_refused() {
    let Some(python) = tool("MINIAWS_TEST_PYTHON") else {
        return;
    };
    let Some((server, image)) = compute_support::server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (native, _, alice) = guard.aws_user(&server, "ports-alice").await;
    script_ok(
        alice
            .command(&python)
            .arg("-c")
            .arg(EMPTY_PORTS_SCRIPT)
            .env("IMAGE", &image),
        "boto3 ports ok",
    )
    .await;
    let left = native.list_instances(true).await.expect("list");
    assert_eq!(
        left.iter().map(|i| i.ports.len()).collect::<Vec<_>>(),
        [2],
        "only the good launch made an instance: {left:?}"
    );
    for i in left {
        native.terminate_instance(i.id).await.expect("terminate");
    }
}

const EMPTY_PORTS_SCRIPT: &str = r#"
import os
import boto3
from botocore.exceptions import ClientError

ec2 = boto3.client("ec2", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
IMAGE = os.environ["IMAGE"]

def launch(ports, **kw):
    tags = [{"Key": "miniaws:ports", "Value": ports}, {"Key": "miniaws:command", "Value": "sleep 3600"}]
    return ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1,
                             TagSpecifications=[{"ResourceType": "instance", "Tags": tags}], **kw)

for ports in ["80,", ",", "80,,81", " , ", "80, "]:
    for dry in [False, True]:
        try:
            launch(ports, DryRun=dry)
        except ClientError as e:
            err, status = e.response["Error"], e.response["ResponseMetadata"]["HTTPStatusCode"]
            assert status == 400 and err["Code"] == "InvalidParameterValue", (ports, dry, status, err)
            assert "empty entry" in err["Message"], (ports, err)
        else:
            raise SystemExit(f"{ports!r} (DryRun={dry}) was accepted")

# 48 tags beside Name, ports and command are 51: over the limit, which
# DryRun checks too (it answered DryRunOperation for a launch refused).
many = [{"Key": f"k{n:02}", "Value": "v"} for n in range(48)]
for dry in [False, True]:
    try:
        ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, DryRun=dry,
                          TagSpecifications=[{"ResourceType": "instance", "Tags": many + [
                              {"Key": "Name", "Value": "many"}, {"Key": "miniaws:ports", "Value": "80"},
                              {"Key": "miniaws:command", "Value": "sleep 3600"}]}])
    except ClientError as e:
        assert e.response["Error"]["Code"] == "TagLimitExceeded", (dry, e.response["Error"])
    else:
        raise SystemExit(f"51 tags (DryRun={dry}) were accepted")
assert ec2.describe_instances()["Reservations"] == [], "nothing launched"

r = launch(" 80 , 53/udp ", ClientToken="ports-1")
assert r["Instances"][0]["State"]["Name"] == "running", r
# A retry spelling the ports in their full form, as DescribeInstances shows
# them, asks for the same launch: the same instance, not a mismatch.
shown = {t["Key"]: t["Value"] for t in r["Instances"][0]["Tags"]}["miniaws:ports"]
assert shown == "80/tcp,53/udp", shown
again = launch(shown, ClientToken="ports-1")
assert again["Instances"][0]["InstanceId"] == r["Instances"][0]["InstanceId"], again
print("boto3 ports ok")
"#;

const BOTO3_SCRIPT: &str = r#"
import os, threading
import boto3
from botocore.exceptions import ClientError

ec2 = boto3.client("ec2", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
ID, OTHER = os.environ["ID"], os.environ["OTHER"]

def code_of(call, **kw):
    try:
        call(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise SystemExit(f"{call} succeeded")

def tags_of(i):
    r = ec2.describe_tags(Filters=[{"Name": "resource-id", "Values": [i]}])
    return {t["Key"]: t["Value"] for t in r["Tags"]}

# The instance has Name, miniaws:command, env and owner: 46 more make 50.
many = [{"Key": f"k{n:02}", "Value": "v"} for n in range(46)]
ec2.create_tags(Resources=[ID], Tags=many)
assert len(tags_of(ID)) == 50, tags_of(ID)
assert code_of(ec2.create_tags, Resources=[ID], Tags=[{"Key": "one-more", "Value": ""}]) == "TagLimitExceeded"
assert "one-more" not in tags_of(ID)
ec2.delete_tags(Resources=[ID], Tags=[{"Key": t["Key"]} for t in many])
assert len(tags_of(ID)) == 4, tags_of(ID)

# Twenty writers, one tag each, at once: every one lands.
errors = []
def put(n):
    try:
        boto3.client("ec2", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1").create_tags(
            Resources=[ID], Tags=[{"Key": f"c{n:02}", "Value": str(n)}])
    except Exception as e:
        errors.append(e)
threads = [threading.Thread(target=put, args=(n,)) for n in range(20)]
for t in threads: t.start()
for t in threads: t.join()
assert not errors, errors
got = tags_of(ID)
assert all(got.get(f"c{n:02}") == str(n) for n in range(20)), got

# Both instances' tags, paged by five, in order, none twice.
ec2.create_tags(Resources=[ID, OTHER], Tags=[{"Key": "shared", "Value": "yes"}])
pages = list(ec2.get_paginator("describe_tags").paginate(PaginationConfig={"PageSize": 5}))
rows = [(t["ResourceId"], t["Key"]) for p in pages for t in p["Tags"]]
assert rows == sorted(rows) and len(rows) == len(set(rows)), rows
# The first's tags and `shared`; the other's Name, command and `shared`.
assert len(rows) == len(got) + 1 + 3, (len(rows), rows)
assert all(t["ResourceType"] == "instance" for p in pages for t in p["Tags"])
shared = ec2.describe_tags(Filters=[{"Name": "key", "Values": ["sha*"]}, {"Name": "value", "Values": ["yes"]}])
assert sorted(t["ResourceId"] for t in shared["Tags"]) == sorted([ID, OTHER]), shared
assert code_of(ec2.describe_tags, Filters=[{"Name": "owner-id", "Values": ["x"]}]) == "InvalidParameterValue"
assert code_of(ec2.describe_tags, NextToken="garbage") == "InvalidParameterValue"

# Deleting all tags keeps the fixed ones; the Name goes (named after the id).
ec2.delete_tags(Resources=[ID])
assert tags_of(ID) == {"miniaws:command": "sleep 3600"}, tags_of(ID)
print("boto3 tags ok")
"#;

/// Every answer is XML a client can read, whatever the text: a tag holding
/// U+FFFF, which XML cannot carry, is refused (accepted, it made every
/// later DescribeTags and DescribeInstances of its owner unreadable to the
/// aws CLI); a command set natively with control characters, and an id
/// sent with one (which the error quotes), are answered with them replaced.
#[tokio::test]
async fn answers_stay_xml_whatever_the_text() {
    let Some(cli) = tool("MINIAWS_TEST_AWS_CLI") else {
        return;
    };
    let Some((server, image)) = compute_support::server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (native, _, alice) = guard.aws_user(&server, "xml-alice").await;
    let inst = native
        .launch_instance(&launch(
            "odd",
            &image,
            &["sh", "-c", "sleep 3600", "\u{1}\u{FFFF}"],
        ))
        .await
        .expect("launch");
    let id = inst.ec2_instance_id.clone();
    let command = alice
        .ec2_text(
            &cli,
            &[
                "describe-instances",
                "--instance-ids",
                &id,
                "--query",
                "Reservations[0].Instances[0].Tags[?Key=='miniaws:command'].Value",
            ],
        )
        .await;
    assert!(
        command.ends_with("'\u{FFFD}\u{FFFD}'"),
        "the command with what XML cannot carry replaced: {command:?}"
    );

    let err = alice
        .ec2_fails(
            &cli,
            "InvalidParameterValue",
            &[
                "create-tags",
                "--resources",
                &id,
                "--tags",
                "Key=k,Value=a\u{FFFF}",
            ],
        )
        .await;
    assert!(err.contains("U+FFFF"), "{err}");
    let tagged = alice
        .ec2_text(
            &cli,
            &[
                "describe-tags",
                "--filters",
                "Name=key,Values=k",
                "--query",
                "length(Tags)",
            ],
        )
        .await;
    assert_eq!(tagged, "0", "the refused tag was not stored");

    let err = alice
        .ec2_fails(
            &cli,
            "InvalidInstanceID.Malformed",
            &["describe-instances", "--instance-ids", "i-\u{1}"],
        )
        .await;
    assert!(err.contains("i-\u{FFFD}"), "the id quoted, replaced: {err}");
}
