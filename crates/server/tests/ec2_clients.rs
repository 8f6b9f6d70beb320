//! The EC2-compatible endpoint driven by the real aws CLI and boto3,
//! against real containers, on SQLite and on Postgres.
//!
//! The CLI: `describe-instance-types`, `run-instances` with tags (`Name`,
//! `miniaws:command`), `wait instance-running` and `instance-status-ok`,
//! `describe-instance-status`, `describe-instances` with
//! filters and `--query`, `stop-instances` (and `--force`),
//! `start-instances`, `reboot-instances`, `terminate-instances`. An
//! instance launched through EC2 is the one `/instances` shows and
//! manages, and one launched natively is seen and stopped through EC2. A
//! second user sees none of the first's instances and gets
//! `InvalidInstanceID.NotFound` for their ids. Bad input (unknown image or
//! type, refused parameters and tags, malformed and unknown ids, a
//! `--count 3` launch whose second instance fails) gets EC2's codes and
//! leaves no row or container behind. boto3: a launch of four (retried
//! with its `ClientToken`: the same four, none more), a
//! paginator over DescribeInstances (pages of 5), filters, DryRun, and raw
//! signed requests for what a client cannot send (an unknown action, a
//! missing parameter, a malformed form, a wrong signature, an unknown
//! key, no signature, a skewed clock, an oversized body). The Docker
//! host's images: `GET /images` and DescribeImages through both clients.

mod compute_support;

use compute_support::{ContainerGuard, Ec2Cli, containers_of, docker, free_port};
use miniaws_client::{ModifyInstance, StatusCode};
use miniaws_testkit::{AwsClients, Backend, require_tool as tool, script_ok};
use std::process::Output;

#[tokio::test]
async fn aws_cli_and_boto3_drive_instances_sqlite() {
    ec2_clients(Backend::Sqlite).await;
}

#[tokio::test]
async fn aws_cli_and_boto3_drive_instances_postgres() {
    ec2_clients(Backend::Postgres).await;
}

/// STS on the same listener: `aws sts get-caller-identity` and boto3's
/// name the user as the account; the other STS actions and services Mini
/// AWS does not have (`iam`, a Query API; `dynamodb`, a JSON one) are
/// refused in a shape their client reads, naming what is served.
#[tokio::test]
async fn sts_names_the_caller_and_other_services_are_refused() {
    let (Some(cli), Some(python)) = (tool("MINIAWS_TEST_AWS_CLI"), tool("MINIAWS_TEST_PYTHON"))
    else {
        return;
    };
    let Some(server) = miniaws_testkit::TestServer::start(Backend::Sqlite).await else {
        return;
    };
    let (_, key) = server.user("sts-carol").await;
    let carol = AwsClients::new(&server, &key);
    let user_id = key.user_id.to_string();
    let out = carol
        .run_aws(&cli, &["sts", "get-caller-identity", "--output", "json"])
        .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let identity: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("the CLI prints JSON");
    assert_eq!(identity["Account"], user_id.as_str(), "{identity}");
    assert_eq!(identity["UserId"], user_id.as_str(), "{identity}");
    assert_eq!(
        identity["Arn"],
        format!("arn:aws:iam::{user_id}:root").as_str(),
        "{identity}"
    );

    let refused = |out: Output, code: &str, says: &str| {
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success() && stderr.contains(&format!("({code})")) && stderr.contains(says),
            "expected {code} saying {says:?}: {stderr}"
        );
    };
    let forged = AwsClients::with_endpoint(server.aws_url(), &key.access_key_id, "not-the-secret");
    refused(
        forged.run_aws(&cli, &["sts", "get-caller-identity"]).await,
        "SignatureDoesNotMatch",
        "",
    );
    // An unknown access key: STS's code, not EC2's AuthFailure.
    let unknown = AwsClients::with_endpoint(server.aws_url(), "AKIAUNKNOWNKEY000000", "secret");
    refused(
        unknown.run_aws(&cli, &["sts", "get-caller-identity"]).await,
        "InvalidClientTokenId",
        "security token included in the request is invalid",
    );
    refused(
        carol
            .run_aws(
                &cli,
                &[
                    "sts",
                    "assume-role",
                    "--role-arn",
                    "arn:aws:iam::1:role/x",
                    "--role-session-name",
                    "session",
                ],
            )
            .await,
        "InvalidAction",
        "GetCallerIdentity only",
    );
    refused(
        carol.run_aws(&cli, &["iam", "list-users"]).await,
        "InvalidAction",
        "does not have the iam API",
    );
    refused(
        carol.run_aws(&cli, &["dynamodb", "list-tables"]).await,
        "UnknownOperationException",
        "does not have the dynamodb API",
    );

    let out = carol
        .command(&python)
        .arg("-c")
        .arg(
            "import boto3, os\n\
             sts = boto3.client('sts', endpoint_url=os.environ['ENDPOINT'])\n\
             print(sts.get_caller_identity()['Account'])",
        )
        .output()
        .await
        .expect("python runs");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        user_id,
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A URL presigned for STS (an EKS-style token) is not an S3 request:
    // `GET /?Action=GetCallerIdentity…` would otherwise list the buckets.
    script_ok(
        carol.command(&python).arg("-c").arg(PRESIGNED_STS_SCRIPT),
        "presigned ok",
    )
    .await;
}

const PRESIGNED_STS_SCRIPT: &str = r#"
import html, os, urllib.error, urllib.request
import boto3
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
E = os.environ["ENDPOINT"]
AK, SK = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
s3 = boto3.client("s3", endpoint_url=E, region_name="us-east-1")
s3.create_bucket(Bucket="carol-presign")
s3.put_object(Bucket="carol-presign", Key="k", Body=b"secret")
def presigned(service):
    req = AWSRequest(method="GET", url=E + "/carol-presign/k")
    S3SigV4QueryAuth(Credentials(AK, SK), service, "us-east-1", expires=60).add_auth(req)
    return req.url
# A STS GetCallerIdentity URL (an EKS-style token) goes to the Query API,
# which takes no presigned form.
sts = boto3.client("sts", endpoint_url=E, region_name="us-east-1")
url = sts.generate_presigned_url("get_caller_identity", Params={}, ExpiresIn=60)
try:
    urllib.request.urlopen(url)
    raise SystemExit("a URL presigned for sts was accepted")
except urllib.error.HTTPError as e:
    assert e.code in (400, 401, 403), (e.code, e.read())
# An S3 request presigned with another service's key is refused as S3 does,
# also when the credential's name is written with an escape.
for service in ["sts", "ec2", "iam"]:
    for url in [presigned(service), presigned(service).replace("X-Amz-Credential=", "X-Amz-Credentia%6C=")]:
        try:
            urllib.request.urlopen(url)
            raise SystemExit(f"a URL presigned for {service} read the object: {url}")
        except urllib.error.HTTPError as e:
            body = html.unescape(e.read().decode())
            assert e.code == 400 and "<Code>AuthorizationQueryParametersError</Code>" in body and f'incorrect service "{service}"' in body, (e.code, body)
# Presigned for S3, it reads.
assert urllib.request.urlopen(presigned("s3")).read() == b"secret"
print("presigned ok")
"#;

/// GetConsoleOutput is the container's log, its last 64 KiB (boto3 and
/// the aws CLI decode it); a terminated instance has none to give.
/// DescribeRegions and DescribeAvailabilityZones name the signing region
/// (served by the listener the request went to) and its one zone.
#[tokio::test]
async fn console_output_regions_and_zones() {
    let (Some(cli), Some(python)) = (tool("MINIAWS_TEST_AWS_CLI"), tool("MINIAWS_TEST_PYTHON"))
    else {
        return;
    };
    let Some((server, image)) = compute_support::server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (dave_native, _, dave) = guard.aws_user(&server, "console-dave").await;
    let (_, eve_key) = server.user("console-eve").await;
    let eve = AwsClients::new(&server, &eve_key);
    // About 120 KiB of output, then quiet.
    let command = "sh -c 'echo first-line; i=0; while [ $i -lt 3000 ]; do echo line-$i-padding-padding-padding; i=$((i+1)); done; echo last-line; sleep 3600'";
    let id = dave
        .ec2_text(
            &cli,
            &[
                "run-instances",
                "--image-id",
                &image,
                "--tag-specifications",
                &serde_json::json!([{
                    "ResourceType": "instance",
                    "Tags": [{"Key": "miniaws:command", "Value": command}],
                }])
                .to_string(),
                "--query",
                "Instances[0].InstanceId",
            ],
        )
        .await;
    eve.ec2_fails(
        &cli,
        "InvalidInstanceID.NotFound",
        &["get-console-output", "--instance-id", &id],
    )
    .await;
    script_ok(
        dave.command(&python)
            .arg("-c")
            .arg(CONSOLE_SCRIPT)
            .env("ID", &id),
        "console ok",
    )
    .await;
    let out = dave
        .ec2_text(
            &cli,
            &[
                "get-console-output",
                "--instance-id",
                &id,
                "--latest",
                "--query",
                "Output",
            ],
        )
        .await;
    assert!(
        out.ends_with("last-line"),
        "decoded by the CLI: {}",
        &out[out.len().saturating_sub(200)..]
    );
    dave.ec2(&cli, &["terminate-instances", "--instance-ids", &id])
        .await;
    let err = dave
        .ec2_fails(
            &cli,
            "IncorrectInstanceState",
            &["get-console-output", "--instance-id", &id],
        )
        .await;
    let uuid = dave_native
        .list_instances(true)
        .await
        .expect("list")
        .into_iter()
        .find(|i| i.ec2_instance_id == id)
        .expect("listed natively")
        .id;
    assert!(
        err.contains(&id) && !err.contains(&uuid.to_string()),
        "named by its EC2 id, not the UUID EC2 clients never see: {err}"
    );

    let regions = dave
        .ec2_text(
            &cli,
            &[
                "describe-regions",
                "--query",
                "Regions[].[RegionName,Endpoint]",
            ],
        )
        .await;
    // The endpoint is the listener the request went to, as its Host names it.
    let listener = server.aws_url();
    let host = listener.trim_start_matches("http://").trim_end_matches('/');
    assert_eq!(regions, format!("us-east-1\t{host}"));
    let zones = dave
        .ec2_text(
            &cli,
            &[
                "describe-availability-zones",
                "--query",
                "AvailabilityZones[].[ZoneName,State,RegionName]",
            ],
        )
        .await;
    assert_eq!(zones, "us-east-1a\tavailable\tus-east-1");
    dave.ec2_fails(
        &cli,
        "InvalidParameterValue",
        &["describe-availability-zones", "--zone-names", "us-east-1b"],
    )
    .await;
    dave.ec2_fails(
        &cli,
        "UnsupportedOperation",
        &[
            "describe-regions",
            "--filters",
            "Name=region-name,Values=us-east-1",
        ],
    )
    .await;
}

/// A stopped instance changes type through ModifyInstanceAttribute (and
/// natively through `PATCH /instances/{id}`, which also renames), and its
/// container runs with the new type's limits once started. The private IP
/// is the container's address while it runs, none while stopped.
#[tokio::test]
async fn a_stopped_instance_changes_type() {
    let Some(cli) = tool("MINIAWS_TEST_AWS_CLI") else {
        return;
    };
    let Some((server, image)) = compute_support::server(Backend::Postgres).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (native, _, fay) = guard.aws_user(&server, "resize-fay").await;
    let id = fay
        .ec2_text(&cli, &[
                    "run-instances",
                    "--image-id",
                    &image,
                    "--instance-type",
                    "t3.nano",
                    "--tag-specifications",
                    "ResourceType=instance,Tags=[{Key=Name,Value=grow},{Key=miniaws:command,Value=sleep 3600}]",
                    "--query",
                    "Instances[0].InstanceId",
                ])
        .await;
    let inst = native
        .list_instances(false)
        .await
        .expect("list")
        .into_iter()
        .find(|i| i.ec2_instance_id == id)
        .expect("listed");
    let cid = inst.container_id.clone().expect("a container");
    let memory = || docker(&["inspect", "-f", "{{.HostConfig.Memory}}", &cid]);
    assert_eq!(memory(), (512u64 << 20).to_string(), "t3.nano: 512 MiB");
    // The private IP is the container's on Docker's network while it runs.
    let ip = docker(&[
        "inspect",
        "-f",
        "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
        &cid,
    ]);
    assert!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "{ip}");
    assert_eq!(inst.private_ip.as_deref(), Some(ip.as_str()), "natively");
    let by_ip = fay
        .ec2_text(
            &cli,
            &[
                "describe-instances",
                "--filters",
                &format!("Name=private-ip-address,Values={ip}"),
                "--query",
                "Reservations[].Instances[].[InstanceId,PrivateIpAddress]",
            ],
        )
        .await;
    assert_eq!(by_ip, format!("{id}\t{ip}"));
    let set_type = |t: &str| format!("Value={t}");

    fay.ec2_fails(
        &cli,
        "IncorrectInstanceState",
        &[
            "modify-instance-attribute",
            "--instance-id",
            &id,
            "--instance-type",
            &set_type("t3.micro"),
        ],
    )
    .await;
    fay.ec2(&cli, &["stop-instances", "--instance-ids", &id, "--force"])
        .await;
    fay.ec2(&cli, &["wait", "instance-stopped", "--instance-ids", &id])
        .await;
    let stopped_ip = fay
        .ec2_text(
            &cli,
            &[
                "describe-instances",
                "--instance-ids",
                &id,
                "--query",
                "Reservations[0].Instances[0].PrivateIpAddress",
            ],
        )
        .await;
    assert_eq!(stopped_ip, "None", "no address while stopped");
    fay.ec2_fails(
        &cli,
        "InvalidParameterValue",
        &[
            "modify-instance-attribute",
            "--instance-id",
            &id,
            "--instance-type",
            &set_type("m5.large"),
        ],
    )
    .await;
    fay.ec2_fails(
        &cli,
        "UnsupportedOperation",
        &[
            "modify-instance-attribute",
            "--instance-id",
            &id,
            "--attribute",
            "userData",
            "--value",
            "x",
        ],
    )
    .await;
    fay.ec2(
        &cli,
        &[
            "modify-instance-attribute",
            "--instance-id",
            &id,
            "--instance-type",
            &set_type("t3.micro"),
        ],
    )
    .await;
    let described = fay
        .ec2_text(
            &cli,
            &[
                "describe-instance-attribute",
                "--instance-id",
                &id,
                "--attribute",
                "instanceType",
                "--query",
                "InstanceType.Value",
            ],
        )
        .await;
    assert_eq!(described, "t3.micro");
    // What every instance has, for tools that read it after a launch.
    for (attribute, query, want) in [
        (
            "disableApiTermination",
            "DisableApiTermination.Value",
            "False",
        ),
        (
            "instanceInitiatedShutdownBehavior",
            "InstanceInitiatedShutdownBehavior.Value",
            "stop",
        ),
        ("groupSet", "length(Groups)", "0"),
    ] {
        let got = fay
            .ec2_text(
                &cli,
                &[
                    "describe-instance-attribute",
                    "--instance-id",
                    &id,
                    "--attribute",
                    attribute,
                    "--query",
                    query,
                ],
            )
            .await;
        assert_eq!(got, want, "{attribute}");
    }
    fay.ec2_fails(
        &cli,
        "UnsupportedOperation",
        &[
            "describe-instance-attribute",
            "--instance-id",
            &id,
            "--attribute",
            "kernel",
        ],
    )
    .await;
    fay.ec2(&cli, &["start-instances", "--instance-ids", &id])
        .await;
    fay.ec2(&cli, &["wait", "instance-running", "--instance-ids", &id])
        .await;
    assert_eq!(memory(), (1u64 << 30).to_string(), "t3.micro: 1 GiB");
    let shown = fay
        .ec2_text(
            &cli,
            &[
                "describe-instances",
                "--instance-ids",
                &id,
                "--query",
                "Reservations[0].Instances[0].InstanceType",
            ],
        )
        .await;
    assert_eq!(shown, "t3.micro");

    // Natively: not while running; then a new type and a new name at once.
    let change = |name: Option<&str>, t: Option<&str>| ModifyInstance {
        name: name.map(str::to_owned),
        instance_type: t.map(str::to_owned),
    };
    let err = native
        .modify_instance(inst.id, &change(None, Some("t3.small")))
        .await
        .expect_err("running");
    assert_eq!(err.status(), Some(StatusCode::CONFLICT), "{err}");
    for bad in [
        change(None, None),
        change(Some("bad name"), None),
        change(None, Some("x1")),
    ] {
        let err = native
            .modify_instance(inst.id, &bad)
            .await
            .expect_err("bad");
        assert_eq!(
            err.status(),
            Some(StatusCode::BAD_REQUEST),
            "{bad:?}: {err}"
        );
    }
    native.stop_instance(inst.id).await.expect("stop");
    let changed = native
        .modify_instance(inst.id, &change(Some("grown"), Some("t3.small")))
        .await
        .expect("modify");
    assert_eq!(
        (
            changed.name.as_str(),
            changed.instance_type.as_str(),
            changed.state.as_str()
        ),
        ("grown", "t3.small", "STOPPED")
    );
    let other = native
        .launch_instance(&compute_support::launch(
            "taken",
            &image,
            &["sleep", "3600"],
        ))
        .await
        .expect("launch");
    let err = native
        .modify_instance(inst.id, &change(Some("taken"), None))
        .await
        .expect_err("a taken name");
    assert_eq!(err.status(), Some(StatusCode::CONFLICT), "{err}");
    let started = native.start_instance(inst.id).await.expect("start");
    assert_eq!(started.instance_type, "t3.small");
    assert_eq!(memory(), (2u64 << 30).to_string(), "t3.small: 2 GiB");
    for i in [inst.id, other.id] {
        native.terminate_instance(i).await.expect("terminate");
    }
}

const CONSOLE_SCRIPT: &str = r#"
import os, time
import boto3
ec2 = boto3.client("ec2", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
ID = os.environ["ID"]
deadline = time.time() + 60
while True:
    r = ec2.get_console_output(InstanceId=ID)
    out = r.get("Output", "")
    if out.endswith("last-line\n") or time.time() > deadline:
        break
    time.sleep(0.5)
assert r["InstanceId"] == ID, r
assert out.endswith("last-line\n"), out[-200:]
assert len(out.encode()) == 64 * 1024, len(out.encode())
assert "first-line" not in out, "only the last 64 KiB"
assert "line-2999-padding" in out
# The credit option Terraform reads of a burstable type: the container
# is never throttled to a baseline.
c = ec2.describe_instance_credit_specifications(InstanceIds=[ID])
assert c["InstanceCreditSpecifications"] == [{"InstanceId": ID, "CpuCredits": "unlimited"}], c
every = ec2.describe_instance_credit_specifications()["InstanceCreditSpecifications"]
assert {"InstanceId": ID, "CpuCredits": "unlimited"} in every, every
from botocore.exceptions import ClientError
for kw, code in [({"InstanceIds": ["i-00000000000000000"]}, "InvalidInstanceID.NotFound"),
                 ({"Filters": [{"Name": "instance-id", "Values": [ID]}]}, "UnsupportedOperation")]:
    try:
        ec2.describe_instance_credit_specifications(**kw)
        raise SystemExit(f"{kw} succeeded")
    except ClientError as e:
        assert e.response["Error"]["Code"] == code, (kw, e.response)
print("console ok")
"#;

async fn ec2_clients(backend: Backend) {
    let (Some(cli), Some(python)) = (tool("MINIAWS_TEST_AWS_CLI"), tool("MINIAWS_TEST_PYTHON"))
    else {
        return;
    };
    let Some((server, image)) = compute_support::server(backend).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (native, key, alice) = guard.aws_user(&server, "ec2-alice").await;
    let (bob_native, _, bob) = guard.aws_user(&server, "ec2-bob").await;
    let alice_id = key.user_id.to_string();

    // The catalogue.
    let types = alice
        .ec2_text(
            &cli,
            &[
                "describe-instance-types",
                "--instance-types",
                "t3.nano",
                "t3.xlarge",
                "t3.nano",
                "--query",
                "InstanceTypes[].[InstanceType,VCpuInfo.DefaultVCpus,MemoryInfo.SizeInMiB]",
            ],
        )
        .await;
    assert_eq!(
        types, "t3.nano\t2\t512\nt3.xlarge\t4\t16384",
        "each once, t3.nano named twice: {types}"
    );
    alice
        .ec2_fails(
            &cli,
            "InvalidInstanceType",
            &["describe-instance-types", "--instance-types", "m5.large"],
        )
        .await;

    // Launch through EC2, with a name and a command.
    let tags = "ResourceType=instance,Tags=[{Key=Name,Value=ec2-web},{Key=miniaws:command,Value=sleep 3600}]";
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
    assert!(
        id.len() == 19 && id.starts_with("i-") && id[2..].bytes().all(|b| b.is_ascii_hexdigit()),
        "an EC2 id: {id}"
    );
    alice
        .ec2(&cli, &["wait", "instance-running", "--instance-ids", &id])
        .await;
    alice
        .ec2(&cli, &["wait", "instance-status-ok", "--instance-ids", &id])
        .await;
    let status = alice
        .ec2_text(&cli, &["describe-instance-status", "--query",
                  "InstanceStatuses[].[InstanceId,InstanceState.Name,InstanceStatus.Status,SystemStatus.Status]"])
        .await;
    assert_eq!(status, format!("{id}\trunning\tok\tok"));
    let described = alice
        .ec2_text(&cli, &["describe-instances", "--filters", "Name=tag:Name,Values=ec2-web",
                  "Name=instance-state-name,Values=running", "Name=instance-type,Values=t3.nano",
                  &format!("Name=image-id,Values={image}"), "--query",
                  "Reservations[].Instances[].[InstanceId,State.Name,State.Code,InstanceType,ImageId,Tags[?Key=='Name'].Value|[0]]"])
        .await;
    assert_eq!(
        described,
        format!("{id}\trunning\t16\tt3.nano\t{image}\tec2-web"),
        "{described}"
    );
    let none = alice
        .ec2_text(
            &cli,
            &[
                "describe-instances",
                "--filters",
                "Name=instance-state-name,Values=stopped",
                "--query",
                "Reservations[].Instances[].InstanceId",
            ],
        )
        .await;
    assert_eq!(none, "", "no stopped instance yet");

    // The same instance through the native API.
    let listed = native.list_instances(true).await.expect("list");
    let web = listed
        .iter()
        .find(|i| i.ec2_instance_id == id)
        .expect("the EC2 launch is listed natively");
    assert_eq!(
        (web.name.as_str(), web.state.as_str()),
        ("ec2-web", "RUNNING")
    );
    assert_eq!(
        web.command.as_deref(),
        Some(&["sleep".to_owned(), "3600".to_owned()][..])
    );
    let cid = web.container_id.clone().expect("a container");
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &cid]),
        "true"
    );
    // Paused behind our back: still running, its instance check impaired
    // (the host's is fine); unpaused: ok again.
    let statuses = "InstanceStatuses[].[InstanceState.Name,InstanceStatus.Status,InstanceStatus.Details[0].Status,SystemStatus.Status]";
    for (action, expected) in [
        ("pause", "running\timpaired\tfailed\tok"),
        ("unpause", "running\tok\tpassed\tok"),
    ] {
        docker(&[action, &cid]);
        let mut seen = String::new();
        for _ in 0..40 {
            seen = alice
                .ec2_text(
                    &cli,
                    &[
                        "describe-instance-status",
                        "--instance-ids",
                        &id,
                        "--query",
                        statuses,
                    ],
                )
                .await;
            if seen == expected {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        assert_eq!(seen, expected, "after docker {action}");
    }

    // Stop, start, reboot through EC2; the native API sees each.
    let stop = alice
        .ec2_text(
            &cli,
            &[
                "stop-instances",
                "--instance-ids",
                &id,
                "--query",
                "StoppingInstances[0].[PreviousState.Name,CurrentState.Name]",
            ],
        )
        .await;
    assert_eq!(stop, "running\tstopped");
    let status = alice
        .ec2_text(
            &cli,
            &[
                "describe-instance-status",
                "--include-all-instances",
                "--instance-ids",
                &id,
                "--query",
                "InstanceStatuses[].[InstanceState.Name,InstanceStatus.Status]",
            ],
        )
        .await;
    assert_eq!(status, "stopped\tnot-applicable");
    let status = alice
        .ec2_text(
            &cli,
            &["describe-instance-status", "--query", "InstanceStatuses[]"],
        )
        .await;
    assert_eq!(
        status, "",
        "only running instances without --include-all-instances"
    );
    assert_eq!(
        native.get_instance(web.id).await.expect("get").state,
        "STOPPED"
    );
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &cid]),
        "false"
    );
    alice
        .ec2_fails(
            &cli,
            "IncorrectInstanceState",
            &["reboot-instances", "--instance-ids", &id],
        )
        .await;
    let start = alice
        .ec2_text(
            &cli,
            &[
                "start-instances",
                "--instance-ids",
                &id,
                "--query",
                "StartingInstances[0].[PreviousState.Code,CurrentState.Code]",
            ],
        )
        .await;
    assert_eq!(start, "80\t16");
    assert_eq!(
        native.get_instance(web.id).await.expect("get").state,
        "RUNNING"
    );
    alice
        .ec2(&cli, &["reboot-instances", "--instance-ids", &id])
        .await;
    assert_eq!(
        docker(&["inspect", "-f", "{{.State.Running}}", &cid]),
        "true"
    );
    // Force: SIGKILL at once, without the grace period.
    let forced = alice
        .ec2_text(
            &cli,
            &[
                "stop-instances",
                "--force",
                "--instance-ids",
                &id,
                "--query",
                "StoppingInstances[0].CurrentState.Name",
            ],
        )
        .await;
    assert_eq!(forced, "stopped");
    alice
        .ec2(&cli, &["start-instances", "--instance-ids", &id])
        .await;

    // A native launch is seen and managed through EC2.
    let launched = native
        .launch_instance(&compute_support::launch(
            "native-one",
            &image,
            compute_support::SLEEP,
        ))
        .await
        .expect("native launch");
    let native_ec2 = launched.ec2_instance_id.clone();
    let seen = alice
        .ec2_text(
            &cli,
            &[
                "describe-instances",
                "--instance-ids",
                &native_ec2,
                "--query",
                "Reservations[0].Instances[0].[State.Name,Tags[?Key=='Name'].Value|[0]]",
            ],
        )
        .await;
    assert_eq!(seen, "running\tnative-one");

    // Bob sees none of it and touches none of it.
    let bobs = bob
        .ec2_text(
            &cli,
            &[
                "describe-instances",
                "--query",
                "Reservations[].Instances[].InstanceId",
            ],
        )
        .await;
    assert_eq!(bobs, "", "another owner's instances are invisible");
    for op in [
        "stop-instances",
        "terminate-instances",
        "start-instances",
        "reboot-instances",
        "describe-instances",
    ] {
        let err = bob
            .ec2_fails(
                &cli,
                "InvalidInstanceID.NotFound",
                &[op, "--instance-ids", &native_ec2],
            )
            .await;
        assert!(err.contains(&native_ec2), "{err}");
    }
    bob.ec2_fails(
        &cli,
        "InvalidInstanceID.NotFound",
        &[
            "describe-instances",
            "--filters",
            &format!("Name=instance-id,Values={id}"),
            "--instance-ids",
            &id,
        ],
    )
    .await;
    assert_eq!(
        native.get_instance(launched.id).await.expect("get").state,
        "RUNNING"
    );
    assert!(
        bob_native
            .list_instances(true)
            .await
            .expect("list")
            .is_empty()
    );

    // Bad input: EC2's codes, and nothing left behind.
    let rows_before = native.list_instances(true).await.expect("list").len();
    let containers_before = containers_of(&alice_id);
    let cmd_tag = "ResourceType=instance,Tags=[{Key=miniaws:command,Value=sleep 3600}]";
    let err = alice
        .ec2_fails(
            &cli,
            "InvalidAMIID.NotFound",
            &[
                "run-instances",
                "--image-id",
                "miniaws-test/nothing:here",
                "--tag-specifications",
                cmd_tag,
            ],
        )
        .await;
    assert!(err.contains("miniaws-test/nothing:here"), "{err}");
    // Outside Docker's reference grammar (Docker would answer a redirect):
    // malformed, a 400 the CLI does not retry, not an InternalError.
    for bad in ["a//b", "a/b/", "a/./b"] {
        let err = alice
            .ec2_fails(
                &cli,
                "InvalidAMIID.Malformed",
                &["run-instances", "--image-id", bad],
            )
            .await;
        assert!(err.contains(bad) && err.contains("path component"), "{err}");
    }
    let err = alice
        .ec2_fails(
            &cli,
            "InvalidParameterValue",
            &[
                "run-instances",
                "--image-id",
                &image,
                "--instance-type",
                "m5.large",
            ],
        )
        .await;
    assert!(err.contains("m5.large"), "{err}");
    let err = alice
        .ec2_fails(
            &cli,
            "UnsupportedOperation",
            &[
                "run-instances",
                "--image-id",
                &image,
                "--user-data",
                "echo hi",
            ],
        )
        .await;
    assert!(err.contains("UserData"), "{err}");
    alice
        .ec2_fails(
            &cli,
            "UnsupportedOperation",
            &["run-instances", "--image-id", &image, "--key-name", "mine"],
        )
        .await;
    let err = alice
        .ec2_fails(
            &cli,
            "InvalidParameterValue",
            &[
                "run-instances",
                "--image-id",
                &image,
                "--tag-specifications",
                "ResourceType=instance,Tags=[{Key=aws:team,Value=a}]",
            ],
        )
        .await;
    assert!(
        err.contains("aws:team") && err.contains("reserved"),
        "{err}"
    );
    alice
        .ec2_fails(
            &cli,
            "InvalidParameterValue",
            &[
                "run-instances",
                "--image-id",
                &image,
                "--tag-specifications",
                "ResourceType=instance,Tags=[{Key=Name,Value=bad name}]",
            ],
        )
        .await;
    alice
        .ec2_fails(
            &cli,
            "InvalidParameterCombination",
            &[
                "run-instances",
                "--image-id",
                &image,
                "--count",
                "2",
                "--tag-specifications",
                "ResourceType=instance,Tags=[{Key=Name,Value=twins}]",
            ],
        )
        .await;
    alice
        .ec2_fails(
            &cli,
            "InvalidInstanceID.Malformed",
            &["stop-instances", "--instance-ids", "i-123"],
        )
        .await;
    alice
        .ec2_fails(
            &cli,
            "InvalidInstanceID.NotFound",
            &[
                "terminate-instances",
                "--instance-ids",
                "i-00000000000000000",
            ],
        )
        .await;
    alice
        .ec2_fails(
            &cli,
            "InvalidParameterValue",
            &["describe-instances", "--filters", "Name=vpc-id,Values=x"],
        )
        .await;
    // Three instances on one fixed host port: the second cannot start, so
    // the first is removed again and none stays.
    let port = free_port();
    let clash = format!(
        "ResourceType=instance,Tags=[{{Key=miniaws:command,Value=sleep 3600}},{{Key=miniaws:ports,Value={port}:80}}]"
    );
    alice
        .ec2_fails(
            &cli,
            "InvalidParameterValue",
            &[
                "run-instances",
                "--image-id",
                &image,
                "--count",
                "3",
                "--tag-specifications",
                &clash,
            ],
        )
        .await;
    assert_eq!(
        native.list_instances(true).await.expect("list").len(),
        rows_before,
        "refused launches leave no row"
    );
    assert_eq!(
        containers_of(&alice_id),
        containers_before,
        "refused launches leave no container"
    );

    // boto3: a launch of four, a paginator, filters, DryRun, raw requests.
    let live_before = alice
        .ec2_text(
            &cli,
            &[
                "describe-instances",
                "--query",
                "length(Reservations[].Instances[])",
            ],
        )
        .await;
    let stdout = script_ok(
        alice
            .command(&python)
            .arg("-c")
            .arg(BOTO3_SCRIPT)
            .env("IMAGE", &image)
            .env("BEFORE", &live_before),
        "boto3 ok",
    )
    .await;
    let boto_ids: Vec<String> = stdout
        .lines()
        .find_map(|l| l.strip_prefix("launched "))
        .expect("the script names its instances")
        .split(',')
        .map(str::to_owned)
        .collect();
    let all = native.list_instances(true).await.expect("list");
    for b in &boto_ids {
        let i = all
            .iter()
            .find(|i| &i.ec2_instance_id == b)
            .expect("boto3's launch is listed");
        assert_eq!(i.state, "TERMINATED", "{i:?}");
        assert_eq!(
            i.name, *b,
            "an instance launched without Name is named after its id"
        );
    }

    // Terminate through EC2: the container goes, the instance stays
    // describable as terminated, natively too.
    let term = alice
        .ec2_text(
            &cli,
            &[
                "terminate-instances",
                "--instance-ids",
                &id,
                &native_ec2,
                "--query",
                "TerminatingInstances[].[InstanceId,CurrentState.Name]",
            ],
        )
        .await;
    assert_eq!(term, format!("{id}\tterminated\n{native_ec2}\tterminated"));
    assert_eq!(
        native.get_instance(web.id).await.expect("get").state,
        "TERMINATED"
    );
    assert_eq!(
        native.get_instance(launched.id).await.expect("get").state,
        "TERMINATED"
    );
    assert!(
        !compute_support::container_exists(&cid),
        "the container is removed"
    );
    let after = alice
        .ec2_text(
            &cli,
            &[
                "describe-instances",
                "--instance-ids",
                &id,
                "--query",
                "Reservations[0].Instances[0].[State.Name,StateReason.Code]",
            ],
        )
        .await;
    assert_eq!(after, "terminated\tClient.UserInitiatedShutdown");
    // Terminating again changes nothing.
    alice
        .ec2(&cli, &["terminate-instances", "--instance-ids", &id])
        .await;
    assert!(
        containers_of(&alice_id).is_empty(),
        "every container of Alice is gone"
    );
}

const BOTO3_SCRIPT: &str = r#"
import datetime, os, urllib.error, urllib.request
from unittest import mock
import boto3, botocore.auth
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

E = os.environ["ENDPOINT"]
AK, SK = os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"]
IMAGE = os.environ["IMAGE"]
ec2 = boto3.client("ec2", endpoint_url=E, region_name="us-east-1")

def code_of(call, **kw):
    try:
        call(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise SystemExit(f"{call} succeeded")

assert code_of(ec2.run_instances, ImageId=IMAGE, MinCount=1, MaxCount=1, DryRun=True) == "DryRunOperation"
# DryRun checks the values first: a bad port or token is not "would succeed".
ports = [{"ResourceType": "instance", "Tags": [{"Key": "miniaws:ports", "Value": "99999"}]}]
assert code_of(ec2.run_instances, ImageId=IMAGE, MinCount=1, MaxCount=1, DryRun=True, TagSpecifications=ports) == "InvalidParameterValue"
assert code_of(ec2.run_instances, ImageId=IMAGE, MinCount=1, MaxCount=1, DryRun=True, ClientToken="x" * 65) == "InvalidParameterValue"
assert code_of(ec2.run_instances, ImageId=IMAGE, MinCount=1, MaxCount=1, ClientToken="") == "InvalidParameterValue"
cmd = [{"ResourceType": "instance", "Tags": [{"Key": "miniaws:command", "Value": "sleep 3600"}]}]
r = ec2.run_instances(ImageId=IMAGE, MinCount=4, MaxCount=4, InstanceType="t3.nano", TagSpecifications=cmd, ClientToken="boto-1")
ids = [i["InstanceId"] for i in r["Instances"]]
again = ec2.run_instances(ImageId=IMAGE, MinCount=4, MaxCount=4, InstanceType="t3.nano", TagSpecifications=cmd, ClientToken="boto-1")
assert [i["InstanceId"] for i in again["Instances"]] == ids, "a retry with the token launches nothing new"
assert code_of(ec2.run_instances, ImageId=IMAGE, MinCount=1, MaxCount=1, ClientToken="boto-1") == "IdempotentParameterMismatch"
# A retry compares the launch, not the text: the default type spelled out
# and the tags in another order are the same launch (one instance more,
# terminated, shown for an hour as EC2 does: the listing below counts it).
ab = [{"Key": "miniaws:command", "Value": "sleep 3600"}, {"Key": "a", "Value": "1"}]
first = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, ClientToken="boto-2",
                          TagSpecifications=[{"ResourceType": "instance", "Tags": ab}])
retry = ec2.run_instances(ImageId=IMAGE, MinCount=1, MaxCount=1, ClientToken="boto-2", InstanceType="t3.micro",
                          TagSpecifications=[{"ResourceType": "instance", "Tags": ab[::-1]}])
assert retry["Instances"][0]["InstanceId"] == first["Instances"][0]["InstanceId"], (first, retry)
ec2.terminate_instances(InstanceIds=[first["Instances"][0]["InstanceId"]])
assert len(set(ids)) == 4, ids
assert all(i["State"]["Name"] == "running" for i in r["Instances"]), r["Instances"]
assert all(t["Key"] != "Name" for i in r["Instances"] for t in i.get("Tags", [])), r["Instances"]

pages = list(ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5}))
seen = [i["InstanceId"] for p in pages for res in p["Reservations"] for i in res["Instances"]]
assert len(seen) == len(set(seen)) == int(os.environ["BEFORE"]) + 5, (len(seen), os.environ["BEFORE"])
assert len(pages) == (len(seen) + 4) // 5, len(pages)
assert set(ids) <= set(seen)

one = ec2.describe_instances(Filters=[{"Name": "instance-id", "Values": [ids[0]]}])
assert [i["InstanceId"] for res in one["Reservations"] for i in res["Instances"]] == [ids[0]], one
by_key = ec2.describe_instances(Filters=[{"Name": "tag-key", "Values": ["miniaws:command"]}, {"Name": "instance-id", "Values": ids[:2]}])
assert [[i["InstanceId"] for i in res["Instances"]] for res in by_key["Reservations"]] == [ids[:2]], by_key
assert code_of(ec2.describe_instances, InstanceIds=["i-00000000000000000"]) == "InvalidInstanceID.NotFound"
assert code_of(ec2.describe_instances, InstanceIds=[ids[0]], MaxResults=5) == "InvalidParameterCombination"
assert code_of(ec2.stop_instances, InstanceIds=ids, Hibernate=True) == "UnsupportedOperation"

t = ec2.terminate_instances(InstanceIds=ids)
assert sorted((i["InstanceId"], i["CurrentState"]["Name"]) for i in t["TerminatingInstances"]) == sorted((i, "terminated") for i in ids), t
ec2.get_waiter("instance_terminated").wait(InstanceIds=ids)

def raw(body, ak=AK, sk=SK, sign=True, at=None):
    data = body.encode()
    req = AWSRequest(method="POST", url=E + "/", data=data,
                     headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"})
    if sign:
        signer = SigV4Auth(Credentials(ak, sk), "ec2", "us-east-1")
        if at is None:
            signer.add_auth(req)
        else:
            with mock.patch("botocore.auth.get_current_datetime", return_value=at):
                signer.add_auth(req)
    r = urllib.request.Request(E + "/", data=data, headers=dict(req.headers.items()), method="POST")
    try:
        resp = urllib.request.urlopen(r)
        return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()

def expect(status, code, body, **kw):
    s, b = raw(body, **kw)
    assert s == status and f"<Code>{code}</Code>" in b and "<RequestID>" in b, (status, code, s, b)

V = "&Version=2016-11-15"
expect(400, "InvalidAction", "Action=CreateVpc" + V)
expect(400, "MissingParameter", "Version=2016-11-15")
expect(400, "MissingParameter", "Action=RunInstances&MinCount=1&MaxCount=1" + V)
expect(400, "MissingParameter", "Action=StopInstances" + V)
expect(400, "MalformedQueryString", "Action=DescribeInstances&X=%zz" + V)
expect(400, "InvalidInstanceID.Malformed", "Action=StopInstances&InstanceId.1=i-XYZ" + V)
expect(403, "SignatureDoesNotMatch", "Action=DescribeInstances" + V, sk="not-the-secret")
expect(401, "AuthFailure", "Action=DescribeInstances" + V, ak="AKIAUNKNOWNKEY000000")
expect(403, "MissingAuthenticationToken", "Action=DescribeInstances" + V, sign=False)
old = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None) - datetime.timedelta(minutes=20)
expect(400, "RequestExpired", "Action=DescribeInstances" + V, at=old)
expect(413, "RequestEntityTooLarge", "Action=DescribeInstances" + V + "&Pad=" + "x" * 70000)
s, b = raw("Action=DescribeInstances" + V)
assert s == 200 and 'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"' in b and "<requestId>" in b, b
print("launched " + ",".join(ids))
print("boto3 ok")
"#;

/// RunInstances' `ClientToken` is stored with the instances: a retry
/// answers the same reservation after a restart, concurrent retries
/// launch once, other parameters are `IdempotentParameterMismatch`, and
/// DescribeInstances shows the token, the reservation and the launch
/// indexes.
#[tokio::test]
async fn client_tokens_survive_a_restart_sqlite() {
    client_tokens_survive_a_restart(Backend::Sqlite).await;
}

#[tokio::test]
async fn client_tokens_survive_a_restart_postgres() {
    client_tokens_survive_a_restart(Backend::Postgres).await;
}

const TOKEN_SCRIPT: &str = r#"
import os, sys, threading
import boto3
from botocore.exceptions import ClientError
ec2 = boto3.client("ec2", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
IMAGE = os.environ["IMAGE"]
cmd = [{"ResourceType": "instance", "Tags": [{"Key": "miniaws:command", "Value": "sleep 3600"}, {"Key": "team", "Value": "a"}]}]
def launch(token, count=2, tags=cmd):
    return ec2.run_instances(ImageId=IMAGE, MinCount=count, MaxCount=count, TagSpecifications=tags, ClientToken=token)
def code_of(call, **kw):
    try:
        call(**kw)
    except ClientError as e:
        return e.response["Error"]["Code"]
    raise SystemExit(f"{call} succeeded")
def check(r, ids, reservation):
    assert r["ReservationId"] == reservation, (r["ReservationId"], reservation)
    assert [i["InstanceId"] for i in r["Instances"]] == ids, r["Instances"]
step = sys.argv[1]
if step == "first":
    r = launch("keep-1")
    ids = [i["InstanceId"] for i in r["Instances"]]
    assert r["ReservationId"] == "r-" + ids[0][2:], r["ReservationId"]
    assert [i["AmiLaunchIndex"] for i in r["Instances"]] == [0, 1], r["Instances"]
    # Eight concurrent tries of one new token: one launch, one answer.
    seen, errors = [], []
    def one():
        try:
            seen.append(tuple(i["InstanceId"] for i in launch("race-1", count=1)["Instances"]))
        except Exception as e:
            errors.append(e)
    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads: t.start()
    for t in threads: t.join()
    assert not errors and len(set(seen)) == 1 and len(seen) == 8, (seen, errors)
    print("ids " + ",".join(ids) + " " + r["ReservationId"] + " " + seen[0][0])
else:
    ids = os.environ["IDS"].split(",")
    reservation = os.environ["RESERVATION"]
    check(launch("keep-1"), ids, reservation)
    assert code_of(ec2.run_instances, ImageId=IMAGE, MinCount=1, MaxCount=1, ClientToken="keep-1") == "IdempotentParameterMismatch"
    other = [{"ResourceType": "instance", "Tags": [{"Key": "miniaws:command", "Value": "sleep 3600"}, {"Key": "team", "Value": "b"}]}]
    assert code_of(ec2.run_instances, ImageId=IMAGE, MinCount=2, MaxCount=2, TagSpecifications=other, ClientToken="keep-1") == "IdempotentParameterMismatch"
    d = ec2.describe_instances(Filters=[{"Name": "client-token", "Values": ["keep-1"]}])
    assert [res["ReservationId"] for res in d["Reservations"]] == [reservation], d
    got = d["Reservations"][0]["Instances"]
    assert [(i["InstanceId"], i["AmiLaunchIndex"], i["ClientToken"]) for i in got] == [(ids[0], 0, "keep-1"), (ids[1], 1, "keep-1")], got
    by_res = ec2.describe_instances(Filters=[{"Name": "reservation-id", "Values": [reservation]}, {"Name": "launch-index", "Values": ["1"]}])
    assert [i["InstanceId"] for res in by_res["Reservations"] for i in res["Instances"]] == [ids[1]], by_res
    race = os.environ["RACE"]
    assert [i["InstanceId"] for i in launch("race-1", count=1)["Instances"]] == [race]
    ec2.terminate_instances(InstanceIds=ids + [race])
    ec2.get_waiter("instance_terminated").wait(InstanceIds=ids + [race])
    # Terminated, the launch is still the token's answer.
    again = launch("keep-1")
    check(again, ids, reservation)
    assert all(i["State"]["Name"] == "terminated" for i in again["Instances"]), again
    # A token of 65 characters is refused before anything is launched.
    assert code_of(ec2.run_instances, ImageId=IMAGE, MinCount=1, MaxCount=1, ClientToken="x" * 65) == "InvalidParameterValue"
    print("retried ok")
"#;

async fn client_tokens_survive_a_restart(backend: Backend) {
    let Some(python) = tool("MINIAWS_TEST_PYTHON") else {
        return;
    };
    let Some((mut server, image)) = compute_support::server(backend).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (native, key, frank) = guard.aws_user(&server, "token-frank").await;
    let out = script_ok(
        frank
            .command(&python)
            .arg("-c")
            .arg(TOKEN_SCRIPT)
            .arg("first")
            .env("IMAGE", &image),
        "ids ",
    )
    .await;
    let line = out
        .lines()
        .find_map(|l| l.strip_prefix("ids "))
        .expect("the script names its launch");
    let parts: Vec<&str> = line.split(' ').collect();
    let before = native.list_instances(true).await.expect("list").len();
    assert_eq!(before, 3, "two launched with keep-1, one by the race");

    server.restart().await;
    // The restarted server listens on new ports: same key, new address.
    let frank = AwsClients::new(&server, &key);
    script_ok(
        frank
            .command(&python)
            .arg("-c")
            .arg(TOKEN_SCRIPT)
            .arg("retry")
            .env("IMAGE", &image)
            .env("IDS", parts[0])
            .env("RESERVATION", parts[1])
            .env("RACE", parts[2]),
        "retried ok",
    )
    .await;
    let native = server.client().with_api_key(key.key.clone());
    assert_eq!(
        native.list_instances(true).await.expect("list").len(),
        before,
        "no retry launched anything"
    );
    assert!(containers_of(&key.user_id.to_string()).is_empty());
}

/// The Docker host's images: `GET /images` (and `cloud`'s client) lists
/// them by name, and EC2's DescribeImages answers them as AMIs through
/// the aws CLI and boto3: by id (a name without a tag is `:latest`),
/// owner, filters with wildcards, pages of `MaxResults`; an image the host
/// lacks is `InvalidAMIID.NotFound`, an unknown filter refused.
#[tokio::test]
async fn images_are_listed_natively_and_as_amis() {
    let (Some(cli), Some(python)) = (tool("MINIAWS_TEST_AWS_CLI"), tool("MINIAWS_TEST_PYTHON"))
    else {
        return;
    };
    let Some((server, image)) = compute_support::server(Backend::Sqlite).await else {
        return;
    };
    // Seven more names of the test image, for paging (untagged at the end).
    let prefix = format!("miniaws-test/ami-{}", std::process::id());
    let tags: Vec<String> = (0..7).map(|i| format!("{prefix}-{i}:v1")).collect();
    for t in &tags {
        docker(&["tag", &image, t]);
    }
    let _untag = Untag(tags.clone());
    let docker_id = docker(&["image", "inspect", "--format", "{{.Id}}", &image]);

    let mut guard = ContainerGuard::new();
    let (client, key, frank) = guard.aws_user(&server, "images-frank").await;
    let listed = client.images().await.expect("GET /images");
    let mine = listed
        .iter()
        .find(|i| i.name == image)
        .expect("the test image is listed");
    assert_eq!(mine.id, docker_id);
    assert!(mine.size_bytes > 0, "{mine:?}");
    assert_eq!(mine.architecture.as_deref(), Some("amd64"));
    for t in &tags {
        let named = listed.iter().find(|i| &i.name == t).expect("each tag");
        assert_eq!(named.id, docker_id, "one image, several names");
    }
    let names: Vec<&str> = listed.iter().map(|i| i.name.as_str()).collect();
    assert!(names.windows(2).all(|w| w[0] <= w[1]), "{names:?}");
    assert!(!names.iter().any(|n| n.starts_with("<none>")), "{names:?}");
    let anonymous = miniaws_client::Client::new(&server.url()).expect("client");
    assert_eq!(
        anonymous.images().await.expect_err("no key").status(),
        Some(StatusCode::UNAUTHORIZED)
    );

    let one = frank
        .ec2_text(
            &cli,
            &[
                "describe-images",
                "--image-ids",
                &image,
                "--query",
                "Images[].[ImageId,State,Architecture,OwnerId,ImageType,Name]",
            ],
        )
        .await;
    let owner = key.user_id.to_string();
    assert_eq!(
        one,
        format!("{image}\tavailable\tx86_64\t{owner}\tmachine\t{image}")
    );
    // A name without a tag is Docker's `:latest`.
    let untagged = image
        .strip_suffix(":latest")
        .expect("the test image is :latest");
    let by_short = frank
        .ec2_text(
            &cli,
            &[
                "describe-images",
                "--image-ids",
                untagged,
                "--query",
                "Images[].ImageId",
            ],
        )
        .await;
    assert_eq!(by_short, image);
    let filtered = frank
        .ec2_text(
            &cli,
            &[
                "describe-images",
                "--owners",
                "self",
                "--filters",
                &format!("Name=name,Values={prefix}-*"),
                "Name=architecture,Values=x86_64",
                "--query",
                "Images[].ImageId",
            ],
        )
        .await;
    assert_eq!(filtered.split_whitespace().collect::<Vec<_>>(), tags);
    for (args, what) in [
        (vec!["--owners", "amazon"], "another owner"),
        (
            vec!["--filters", "Name=architecture,Values=arm64"],
            "another architecture",
        ),
        (vec!["--filters", "Name=tag:Name,Values=*"], "a tag"),
    ] {
        let none = frank
            .ec2_text(
                &cli,
                &[
                    &["describe-images", "--query", "Images[].ImageId"][..],
                    &args,
                ]
                .concat(),
            )
            .await;
        assert_eq!(none, "", "{what} selects nothing");
    }
    frank
        .ec2_fails(
            &cli,
            "InvalidAMIID.NotFound",
            &["describe-images", "--image-ids", &image, "no-such/image:9"],
        )
        .await;
    frank
        .ec2_fails(
            &cli,
            "InvalidParameterValue",
            &[
                "describe-images",
                "--filters",
                "Name=platform,Values=windows",
            ],
        )
        .await;
    script_ok(
        frank
            .command(&python)
            .arg("-c")
            .arg(IMAGES_SCRIPT)
            .env("PREFIX", &prefix),
        "images ok",
    )
    .await;
}

/// boto3: DescribeImages pages of 5 through the paginator, a bad token,
/// MaxResults beside ImageIds, DryRun.
const IMAGES_SCRIPT: &str = r#"
import os, boto3, botocore
ec2 = boto3.client("ec2", endpoint_url=os.environ["ENDPOINT"], region_name="us-east-1")
prefix = os.environ["PREFIX"]
pages = list(ec2.get_paginator("describe_images").paginate(
    Filters=[{"Name": "name", "Values": [prefix + "-*"]}],
    PaginationConfig={"PageSize": 5}))
sizes = [len(p["Images"]) for p in pages]
names = [i["ImageId"] for p in pages for i in p["Images"]]
assert names == ["%s-%d:v1" % (prefix, i) for i in range(7)], names
assert sizes[0] == 5 and sum(sizes) == 7, sizes
def fails(code, **kw):
    try:
        ec2.describe_images(**kw)
    except botocore.exceptions.ClientError as e:
        assert e.response["Error"]["Code"] == code, (code, e.response["Error"])
        return
    raise AssertionError("no error: %s" % kw)
fails("InvalidParameterValue", NextToken="garbage", MaxResults=5)
fails("InvalidParameterCombination", ImageIds=[prefix + "-0:v1"], MaxResults=5)
fails("DryRunOperation", ImageIds=[prefix + "-0:v1"], DryRun=True)
print("images ok")
"#;

/// Removes the extra names of the test image when dropped.
struct Untag(Vec<String>);

impl Drop for Untag {
    fn drop(&mut self) {
        for t in &self.0 {
            let _ = std::process::Command::new("docker")
                .args(["rmi", t])
                .output();
        }
    }
}

/// A state change refused for one instance of a request changes none of
/// them (EC2 fails such a request whole, whatever the order of the ids),
/// and racing StopInstances of one instance all succeed: stopping a
/// stopped instance is no error.
#[tokio::test]
async fn a_refused_state_change_changes_no_instance() {
    let Some(cli) = tool("MINIAWS_TEST_AWS_CLI") else {
        return;
    };
    let Some((server, image)) = compute_support::server(Backend::Sqlite).await else {
        return;
    };
    let mut guard = ContainerGuard::new();
    let (native, _, gus) = guard.aws_user(&server, "whole-gus").await;
    let launch = |name: &'static str| {
        let image = image.clone();
        let gus = &gus;
        let cli = &cli;
        async move {
            gus.ec2_text(cli, &[
                "run-instances",
                "--image-id",
                &image,
                "--tag-specifications",
                &format!("ResourceType=instance,Tags=[{{Key=Name,Value={name}}},{{Key=miniaws:command,Value=sleep 3600}}]"),
                "--query",
                "Instances[0].InstanceId",
            ])
            .await
        }
    };
    let live = launch("live").await;
    let gone = launch("gone").await;
    gus.ec2(&cli, &["terminate-instances", "--instance-ids", &gone])
        .await;
    let cid = native
        .list_instances(false)
        .await
        .expect("list")
        .into_iter()
        .find(|i| i.ec2_instance_id == live)
        .and_then(|i| i.container_id)
        .expect("a container");
    let started_at = || docker(&["inspect", "-f", "{{.State.StartedAt}}", &cid]);
    let before = started_at();
    let state = || async {
        gus.ec2_text(
            &cli,
            &[
                "describe-instances",
                "--instance-ids",
                &live,
                "--query",
                "Reservations[0].Instances[0].State.Name",
            ],
        )
        .await
    };
    for action in ["stop-instances", "reboot-instances", "start-instances"] {
        for ids in [[&live, &gone], [&gone, &live]] {
            gus.ec2_fails(
                &cli,
                "IncorrectInstanceState",
                &[action, "--instance-ids", ids[0], ids[1]],
            )
            .await;
        }
        assert_eq!(state().await, "running", "after a refused {action}");
    }
    assert_eq!(started_at(), before, "never restarted by a refused reboot");

    // Four StopInstances of one instance at once: every one succeeds.
    let stop = [
        "stop-instances",
        "--instance-ids",
        live.as_str(),
        "--force",
        "--query",
        "StoppingInstances[0].CurrentState.Name",
    ];
    let stops = (0..4).map(|_| gus.ec2_text(&cli, &stop));
    for now in futures::future::join_all(stops).await {
        assert_eq!(now, "stopped");
    }
    gus.ec2(&cli, &["terminate-instances", "--instance-ids", &live])
        .await;
}
