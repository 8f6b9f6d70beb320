//! Browser-form uploads (PostObject) prepared by boto3's
//! `generate_presigned_post`, with its default signature (SigV2 fields)
//! and with `signature_version="s3v4"`, sent as real multipart forms by
//! Python's `http.client`: `${filename}` substitution, content type and
//! user metadata, tags, a storage class and SSE-S3, the 204 / 201 XML / 303 redirect answers with `ETag` and
//! `Location`, virtual-hosted addressing, and the refusals (length range,
//! starts-with, a public ACL, SSE-KMS, archive and unknown storage classes,
//! Object Lock fields in a bucket without Object Lock, over 20 KB of fields before the file, expiry, bad signature, unknown and revoked keys, uncovered
//! fields, a policy that names no bucket, a key id without its signature,
//! another owner's bucket, a missing bucket), and two uploads to a
//! versioned bucket, each a version named in `x-amz-version-id`; Object
//! Lock fields in a bucket with Object Lock, locking the version as
//! PutObject's headers do, and refused as PutObject refuses them. The
//! objects are read back through GetObject and through `/storage`. On
//! SQLite and Postgres.
//!
//! boto3 comes from the virtualenv `scripts/provision` builds
//! (`MINIAWS_TEST_PYTHON`); without it the test fails when services are
//! required and is skipped loudly otherwise.

mod common;

use common::s3_client;
use miniaws_testkit::{Backend, TestServer, isolated_command, require_tool};
use std::path::PathBuf;

fn python() -> Option<PathBuf> {
    require_tool("MINIAWS_TEST_PYTHON")
}

/// Shared by both scripts: boto3 clients for both signature versions and a
/// form sender that returns the raw status, headers and body (redirects
/// are not followed).
const PRELUDE: &str = r#"
import os, sys, uuid, http.client, urllib.parse, hashlib, re
import boto3
from botocore.config import Config

ENDPOINT = os.environ["ENDPOINT"]
HOSTPORT = urllib.parse.urlparse(ENDPOINT).netloc
PORT = HOSTPORT.rsplit(":", 1)[1]

def client(ak, sk, v4=False):
    cfg = Config(signature_version="s3v4") if v4 else None
    return boto3.client("s3", endpoint_url=ENDPOINT, aws_access_key_id=ak,
                        aws_secret_access_key=sk, region_name="us-east-1", config=cfg)

def send(post, filename, data, extra=None, host=None, drop=()):
    """POSTs the presigned form with a file; returns (status, headers, body)."""
    boundary = uuid.uuid4().hex
    fields = dict(post["fields"])
    fields.update(extra or {})
    for name in drop:
        fields.pop(name, None)
    out = b""
    for k, v in fields.items():
        out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").encode()
    out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode() + data + b"\r\n"
    out += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"after\"\r\n\r\nignored\r\n--{boundary}--\r\n").encode()
    url = urllib.parse.urlparse(post["url"])
    conn = http.client.HTTPConnection("127.0.0.1", int(PORT), timeout=30)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    if host:
        headers["Host"] = host
    conn.request("POST", url.path or "/", body=out, headers=headers)
    r = conn.getresponse()
    body = r.read().decode()
    conn.close()
    return r.status, {k.lower(): v for k, v in r.getheaders()}, body

def code(body):
    m = re.search(r"<Code>(.*?)</Code>", body)
    return m.group(1) if m else None

def check(cond, what):
    if not cond:
        sys.exit(f"FAILED: {what}")
"#;

const MAIN: &str = r#"
ak, sk = os.environ["AK"], os.environ["SK"]
v2, v4 = client(ak, sk), client(ak, sk, v4=True)
v2.create_bucket(Bucket="forms")

# SigV2 (boto3's default here): ${filename}, content type, metadata, 204.
post = v2.generate_presigned_post("forms", "posted/${filename}",
    Fields={"Content-Type": "text/plain", "x-amz-meta-colour": "blue"},
    Conditions=[{"Content-Type": "text/plain"}, {"x-amz-meta-colour": "blue"},
                ["content-length-range", 1, 1000]],
    ExpiresIn=300)
check("AWSAccessKeyId" in post["fields"] and "signature" in post["fields"], f"V2 fields: {post['fields']}")
status, headers, body = send(post, "hello.txt", b"hello form")
check(status == 204, f"V2 upload: {status} {body}")
md5 = hashlib.md5(b"hello form").hexdigest()
check(headers.get("etag") == f'"{md5}"', f"ETag header: {headers}")
check(headers.get("location") == f"http://{HOSTPORT}/forms/posted/hello.txt", f"Location: {headers}")
got = v2.get_object(Bucket="forms", Key="posted/hello.txt")
check(got["Body"].read() == b"hello form", "V2 round trip")
check(got["ContentType"] == "text/plain", got["ContentType"])
check(got["Metadata"] == {"colour": "blue"}, got["Metadata"])

# SigV4: 201 with the PostResponse document.
post = v4.generate_presigned_post("forms", "v4/${filename}",
    Fields={"success_action_status": "201"}, Conditions=[{"success_action_status": "201"}],
    ExpiresIn=300)
check(post["fields"].get("x-amz-algorithm") == "AWS4-HMAC-SHA256", f"V4 fields: {post['fields']}")
data = os.urandom(300 * 1024)
status, headers, body = send(post, "data.bin", data)
check(status == 201, f"V4 upload: {status} {body}")
md5 = hashlib.md5(data).hexdigest()
check(f"<Key>v4/data.bin</Key>" in body and "<Bucket>forms</Bucket>" in body, body)
check(f"<ETag>&quot;{md5}&quot;</ETag>" in body, body)
check(f"<Location>http://{HOSTPORT}/forms/v4/data.bin</Location>" in body, body)
check(v4.get_object(Bucket="forms", Key="v4/data.bin")["Body"].read() == data, "V4 round trip")

# A redirect: 303 to the URL with bucket, key and etag.
target = "http://127.0.0.1:9/done?from=form"
post = v4.generate_presigned_post("forms", "redirected.txt",
    Fields={"success_action_redirect": target}, Conditions=[{"success_action_redirect": target}],
    ExpiresIn=300)
status, headers, body = send(post, "ignored-name.txt", b"redirect me")
md5 = hashlib.md5(b"redirect me").hexdigest()
check(status == 303, f"redirect: {status} {body}")
check(headers.get("location") == f"{target}&bucket=forms&key=redirected.txt&etag=%22{md5}%22", headers)
check(headers.get("etag") == f'"{md5}"', headers)

# Virtual-hosted: POST / on forms.localhost; success_action_status 200.
post = v4.generate_presigned_post("forms", "vhost.txt",
    Fields={"success_action_status": "200"}, Conditions=[{"success_action_status": "200"}], ExpiresIn=300)
post = dict(post, url=ENDPOINT + "/")
status, headers, body = send(post, "v.txt", b"virtual", host=f"forms.localhost:{PORT}")
check(status == 200 and body == "", f"virtual-hosted: {status} {body}")
check(headers.get("location") == f"http://forms.localhost:{PORT}/vhost.txt", headers)

# Tags from the tagging field, a <Tagging> document.
tagging = "<Tagging><TagSet><Tag><Key>team</Key><Value>blue</Value></Tag></TagSet></Tagging>"
post = v4.generate_presigned_post("forms", "tagged.txt", Fields={"tagging": tagging},
    Conditions=[{"tagging": tagging}], ExpiresIn=300)
status, headers, body = send(post, "t.txt", b"tagged")
check(status == 204, f"tagged: {status} {body}")
tags = v4.get_object_tagging(Bucket="forms", Key="tagged.txt")["TagSet"]
check(tags == [{"Key": "team", "Value": "blue"}], tags)

# content-length-range: too large, too small.
post = v2.generate_presigned_post("forms", "ranged.txt",
    Conditions=[["content-length-range", 3, 5]], ExpiresIn=300)
status, _, body = send(post, "r", b"0123456789")
check((status, code(body)) == (400, "EntityTooLarge"), f"too large: {status} {body}")
check("<MaxSizeAllowed>5</MaxSizeAllowed>" in body and "content-length-range" in body
      and "--max-object-size" not in body, f"too large names the policy's limit: {body}")
status, _, body = send(post, "r", b"01")
check((status, code(body)) == (400, "EntityTooSmall"), f"too small: {status} {body}")
check("<ProposedSize>2</ProposedSize><MinSizeAllowed>3</MinSizeAllowed>" in body,
      f"too small gives the sizes: {body}")
check("<RequestId>" in body and "<Resource>/forms</Resource>" in body, f"error XML: {body}")

# starts-with on the key violated.
post = v2.generate_presigned_post("forms", "posted/${filename}", ExpiresIn=300)
status, _, body = send(post, "x", b"x", extra={"key": "elsewhere/x"})
check((status, code(body)) == (403, "AccessDenied") and "Invalid according to Policy" in body,
      f"starts-with: {status} {body}")

# A field no condition covers.
status, _, body = send(post, "x", b"x", extra={"x-amz-meta-sneaky": "1"})
check((status, code(body)) == (403, "AccessDenied") and "Extra input fields" in body, f"extra: {status} {body}")

# A metadata field with no name after x-amz-meta-: 400, as the same
# header on PutObject.
post = v2.generate_presigned_post("forms", "nameless.txt", Fields={"x-amz-meta-": "v"},
                                  Conditions=[{"x-amz-meta-": "v"}], ExpiresIn=300)
status, _, body = send(post, "x", b"x")
check((status, code(body)) == (400, "InvalidArgument")
      and 'invalid metadata name' in body, f"nameless metadata: {status} {body}")

# A policy that names no bucket: S3 counts the bucket as a field every
# policy must cover, so a form signed once cannot be replayed against
# another bucket of the signer's.
import base64, hmac, json
doc = {"expiration": "2099-01-01T00:00:00Z", "conditions": [{"key": "nobucket.txt"}]}
policy_b64 = base64.b64encode(json.dumps(doc).encode()).decode()
sig_b64 = base64.b64encode(hmac.new(sk.encode(), policy_b64.encode(), hashlib.sha1).digest()).decode()
unbound = {"url": f"{ENDPOINT}/forms",
           "fields": {"key": "nobucket.txt", "AWSAccessKeyId": ak, "policy": policy_b64, "signature": sig_b64}}
status, _, body = send(unbound, "x", b"x")
check((status, code(body)) == (403, "AccessDenied") and "Extra input fields: bucket" in body,
      f"no bucket condition: {status} {body}")
check("Contents" not in v2.list_objects_v2(Bucket="forms", Prefix="nobucket"), "nothing stored")
# An expiration not in ISO 8601's UTC form (Python's str() of a datetime).
import datetime
later = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(hours=1)
doc = {"expiration": str(later), "conditions": [{"bucket": "forms"}, {"key": "baddate.txt"}]}
policy_b64 = base64.b64encode(json.dumps(doc).encode()).decode()
sig_b64 = base64.b64encode(hmac.new(sk.encode(), policy_b64.encode(), hashlib.sha1).digest()).decode()
dated = {"url": f"{ENDPOINT}/forms",
         "fields": {"key": "baddate.txt", "AWSAccessKeyId": ak, "policy": policy_b64, "signature": sig_b64}}
status, _, body = send(dated, "x", b"x")
check((status, code(body)) == (400, "InvalidPolicyDocument") and "Invalid &apos;expiration&apos;" in body.replace("'", "&apos;"),
      f"a non-ISO expiration: {status} {body}")
check("Contents" not in v2.list_objects_v2(Bucket="forms", Prefix="baddate"), "nothing stored")

# ACLs are disabled, as on PutObject.
post = v2.generate_presigned_post("forms", "public.txt", Fields={"acl": "public-read"},
    Conditions=[{"acl": "public-read"}], ExpiresIn=300)
status, _, body = send(post, "x", b"x")
check((status, code(body)) == (400, "AccessControlListNotSupported"), f"acl: {status} {body}")

# More than 20 KB of fields before the file.
status, _, body = send(post, "x", b"x", extra={"x-ignore-padding": "p" * 25000})
check((status, code(body)) == (400, "MaxPostPreDataLengthExceededError"), f"pre-data: {status} {body}")

# Expired.
post = v4.generate_presigned_post("forms", "late.txt", ExpiresIn=-5)
status, _, body = send(post, "x", b"x")
check((status, code(body)) == (403, "AccessDenied") and "Policy expired." in body, f"expired: {status} {body}")

# Tampered signatures, unknown key, anonymous.
post = v4.generate_presigned_post("forms", "sig.txt", ExpiresIn=300)
bad = post["fields"]["x-amz-signature"][:-4] + "0000"
status, _, body = send(post, "x", b"x", extra={"x-amz-signature": bad})
check((status, code(body)) == (403, "SignatureDoesNotMatch"), f"V4 bad signature: {status} {body}")
post = v2.generate_presigned_post("forms", "sig.txt", ExpiresIn=300)
status, _, body = send(post, "x", b"x", extra={"signature": "AAAA" + post["fields"]["signature"][4:]})
check((status, code(body)) == (403, "SignatureDoesNotMatch"), f"V2 bad signature: {status} {body}")
status, _, body = send(post, "x", b"x", extra={"AWSAccessKeyId": "AKIANOSUCHKEY0000000"})
check((status, code(body)) == (403, "InvalidAccessKeyId"), f"unknown key: {status} {body}")
status, _, body = send(post, "x", b"x", drop=("signature", "AWSAccessKeyId", "policy"))
check((status, code(body)) == (403, "AccessDenied"), f"anonymous: {status} {body}")
# A key id without its signature is a malformed signed form, not an anonymous one.
status, _, body = send(post, "x", b"x", drop=("signature",))
check((status, code(body)) == (400, "InvalidArgument") and "named &apos;signature&apos;" in body,
      f"unsigned V2 form: {status} {body}")

# Storage class and SSE-S3 honoured; SSE-KMS, archive classes, Object Lock refused.
fields = {"x-amz-storage-class": "STANDARD_IA", "x-amz-server-side-encryption": "AES256"}
post = v4.generate_presigned_post("forms", "classy.txt", Fields=fields,
    Conditions=[{k: v} for k, v in fields.items()], ExpiresIn=300)
status, headers, body = send(post, "c", b"classy")
check(status == 204, f"storage class: {status} {body}")
check(headers.get("x-amz-server-side-encryption") == "AES256", f"SSE answer: {headers}")
head = v4.head_object(Bucket="forms", Key="classy.txt")
check(head.get("StorageClass") == "STANDARD_IA", f"stored class: {head}")
check(head.get("ServerSideEncryption") == "AES256", f"SSE: {head}")
for name, value, want in [
        ("x-amz-server-side-encryption", "aws:kms", (501, "NotImplemented")),
        ("x-amz-storage-class", "GLACIER", (501, "NotImplemented")),
        ("x-amz-storage-class", "BOGUS", (400, "InvalidStorageClass")),
        ("x-amz-object-lock-legal-hold", "ON", (400, "InvalidRequest"))]:
    post = v4.generate_presigned_post("forms", "refused.txt", Fields={name: value},
        Conditions=[{name: value}], ExpiresIn=300)
    status, _, body = send(post, "x", b"x")
    check((status, code(body)) == want, f"{name}: {value}: {status} {body}")

# Another owner's bucket, a missing bucket.
other = client(os.environ["OTHER_AK"], os.environ["OTHER_SK"])
post = other.generate_presigned_post("forms", "intruder.txt", ExpiresIn=300)
status, _, body = send(post, "x", b"x")
check((status, code(body)) == (403, "AccessDenied"), f"foreign bucket: {status} {body}")
post = v2.generate_presigned_post("no-such-forms", "k", ExpiresIn=300)
status, _, body = send(post, "x", b"x")
check((status, code(body)) == (404, "NoSuchBucket"), f"missing bucket: {status} {body}")

# A form that the revoked-key script replays later.
post = other.generate_presigned_post("other-forms", "k", ExpiresIn=300)
other.create_bucket(Bucket="other-forms")
status, _, body = send(post, "x", b"before revocation")
check(status == 204, f"other user's own bucket: {status} {body}")

# In a versioned bucket each form upload is a new version, named in
# x-amz-version-id as PutObject names it.
v4.create_bucket(Bucket="forms-versioned")
v4.put_bucket_versioning(Bucket="forms-versioned", VersioningConfiguration={"Status": "Enabled"})
ids = []
for data in (b"first", b"second"):
    post = v4.generate_presigned_post("forms-versioned", "k", ExpiresIn=300)
    status, headers, body = send(post, "k", data)
    check(status == 204, f"versioned form upload: {status} {body}")
    ids.append(headers.get("x-amz-version-id"))
check(None not in ids and ids[0] != ids[1], f"version ids: {ids}")
first = v4.get_object(Bucket="forms-versioned", Key="k", VersionId=ids[0])
check(first["Body"].read() == b"first", "the first form upload is kept")
# Suspended: a form upload replaces the `null` version, named `null` as S3
# names it; a bucket never versioned names no version.
v4.put_bucket_versioning(Bucket="forms-versioned", VersioningConfiguration={"Status": "Suspended"})
post = v4.generate_presigned_post("forms-versioned", "k", ExpiresIn=300)
status, headers, body = send(post, "k", b"suspended")
check(status == 204, f"suspended form upload: {status} {body}")
check(headers.get("x-amz-version-id") == "null", f"suspended version id: {headers}")
v4.create_bucket(Bucket="forms-unversioned")
post = v4.generate_presigned_post("forms-unversioned", "k", ExpiresIn=300)
status, headers, body = send(post, "k", b"plain")
check(status == 204, f"unversioned form upload: {status} {body}")
check(headers.get("x-amz-version-id") is None, f"unversioned version id: {headers}")
print("forms ok")
"#;

/// Object Lock fields (S3's `x-amz-object-lock-mode`, `-retain-until-date`,
/// `-legal-hold`) on form uploads to a bucket with Object Lock: the new
/// version locked as PutObject's headers lock it, and every refusal
/// PutObject answers for the same values (and for a lock the bucket
/// policy denies) answered alike.
const LOCKED: &str = r#"
import base64, datetime
from botocore.exceptions import ClientError
ak, sk = os.environ["AK"], os.environ["SK"]
v2, v4 = client(ak, sk), client(ak, sk, v4=True)
B = "locked-forms"
v4.create_bucket(Bucket=B, ObjectLockEnabledForBucket=True)
until = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).replace(microsecond=0)
UNTIL = until.strftime("%Y-%m-%dT%H:%M:%SZ")
PAST = "2020-01-01T00:00:00Z"
DATA = b"locked form"
MD5 = base64.b64encode(hashlib.md5(DATA).digest()).decode()
SHA256 = base64.b64encode(hashlib.sha256(DATA).digest()).decode()

def lock_post(c, key, fields, covered=True):
    conditions = [{k: v} for k, v in fields.items()] if covered else []
    return c.generate_presigned_post(B, key, Fields=fields, Conditions=conditions, ExpiresIn=300)

def error_of(call, **kw):
    try:
        call(**kw)
    except ClientError as e:
        return e.response["ResponseMetadata"]["HTTPStatusCode"], e.response["Error"]["Code"]
    return None

# Retention and legal hold together, with Content-MD5, signed either way.
for c, key in ((v4, "v4.txt"), (v2, "v2.txt")):
    fields = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": UNTIL,
              "x-amz-object-lock-legal-hold": "ON", "Content-MD5": MD5}
    status, headers, body = send(lock_post(c, key, fields), "f", DATA)
    check(status == 204, f"{key}: {status} {body}")
    vid = headers.get("x-amz-version-id")
    check(vid, f"{key}: a version id: {headers}")
    head = v4.head_object(Bucket=B, Key=key)
    check(head.get("ObjectLockMode") == "GOVERNANCE" and head.get("ObjectLockRetainUntilDate") == until
          and head.get("ObjectLockLegalHoldStatus") == "ON", f"{key}: HeadObject: {head}")
    retention = v4.get_object_retention(Bucket=B, Key=key)["Retention"]
    check(retention == {"Mode": "GOVERNANCE", "RetainUntilDate": until}, f"{key}: retention: {retention}")
    hold = v4.get_object_legal_hold(Bucket=B, Key=key)["LegalHold"]
    check(hold == {"Status": "ON"}, f"{key}: legal hold: {hold}")
    # Locked: the version cannot be deleted.
    check(error_of(v4.delete_object, Bucket=B, Key=key, VersionId=vid) == (403, "AccessDenied"),
          f"{key}: the locked version was deleted")

# A legal hold alone, the checksum as an x-amz-checksum-* field; a hold OFF.
fields = {"x-amz-object-lock-legal-hold": "ON", "x-amz-checksum-sha256": SHA256}
status, _, body = send(lock_post(v4, "held.txt", fields), "f", DATA)
check(status == 204, f"held: {status} {body}")
check(v4.get_object_legal_hold(Bucket=B, Key="held.txt")["LegalHold"] == {"Status": "ON"}, "held")
check(error_of(v4.get_object_retention, Bucket=B, Key="held.txt") == (404, "NoSuchObjectLockConfiguration"),
      "a hold alone sets no retention")
fields = {"x-amz-object-lock-legal-hold": "OFF", "Content-MD5": MD5}
status, _, body = send(lock_post(v4, "off.txt", fields), "f", DATA)
check(status == 204, f"hold OFF: {status} {body}")
check(v4.get_object_legal_hold(Bucket=B, Key="off.txt")["LegalHold"] == {"Status": "OFF"}, "hold OFF")
# COMPLIANCE, with the checksum the form verifies against the file.
fields = {"x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": UNTIL, "Content-MD5": MD5}
status, _, body = send(lock_post(v2, "compliance.txt", fields), "f", DATA)
check(status == 204, f"compliance: {status} {body}")
check(v4.get_object_retention(Bucket=B, Key="compliance.txt")["Retention"]["Mode"] == "COMPLIANCE", "compliance")
status, _, body = send(lock_post(v2, "refused-digest.txt", fields), "f", b"other bytes")
check((status, code(body)) == (400, "BadDigest"), f"a file its Content-MD5 does not sum: {status} {body}")

# Refused as PutObject refuses the same headers (boto3's put_object sends a
# checksum of its own, as the form sends Content-MD5).
refusals = [
    ("mode without date", {"x-amz-object-lock-mode": "GOVERNANCE"}, {"ObjectLockMode": "GOVERNANCE"}),
    ("date without mode", {"x-amz-object-lock-retain-until-date": UNTIL}, {"ObjectLockRetainUntilDate": until}),
    ("a date past", {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": PAST},
     {"ObjectLockMode": "GOVERNANCE", "ObjectLockRetainUntilDate": datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)}),
    ("an unknown mode", {"x-amz-object-lock-mode": "FOREVER", "x-amz-object-lock-retain-until-date": UNTIL},
     {"ObjectLockMode": "FOREVER", "ObjectLockRetainUntilDate": until}),
    ("an unknown hold", {"x-amz-object-lock-legal-hold": "MAYBE"}, {"ObjectLockLegalHoldStatus": "MAYBE"}),
]
for what, fields, params in refusals:
    status, _, body = send(lock_post(v4, "refused.txt", dict(fields, **{"Content-MD5": MD5})), "f", DATA)
    put = error_of(v4.put_object, Bucket=B, Key="refused-put.txt", Body=DATA, **params)
    check(put == (400, "InvalidArgument"), f"{what}: PutObject: {put}")
    check((status, code(body)) == put, f"{what}: {status} {body}")
# A date that is no date: PutObject's status and code (boto3 cannot send one).
fields = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": "tomorrow", "Content-MD5": MD5}
status, _, body = send(lock_post(v4, "refused.txt", fields), "f", DATA)
check((status, code(body)) == (400, "InvalidArgument") and "retain-until-date" in body, f"no date: {status} {body}")
# Without a checksum of the file: PutObject's rule and message.
fields = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": UNTIL}
status, _, body = send(lock_post(v4, "refused.txt", fields), "f", DATA)
check((status, code(body)) == (400, "InvalidRequest") and "Content-MD5 OR x-amz-checksum- HTTP header is required" in body,
      f"no checksum: {status} {body}")
# A lock field the policy does not cover.
post = lock_post(v4, "refused.txt", {"Content-MD5": MD5})
status, _, body = send(post, "f", DATA, extra={"x-amz-object-lock-legal-hold": "ON"})
check((status, code(body)) == (403, "AccessDenied") and "Extra input fields" in body, f"uncovered: {status} {body}")
# A bucket without Object Lock: PutObject's refusal.
v4.create_bucket(Bucket="unlocked-forms")
fields = {"x-amz-object-lock-legal-hold": "ON", "Content-MD5": MD5}
post = v4.generate_presigned_post("unlocked-forms", "k", Fields=fields,
    Conditions=[{k: v} for k, v in fields.items()], ExpiresIn=300)
status, _, body = send(post, "f", DATA)
put = error_of(v4.put_object, Bucket="unlocked-forms", Key="k", Body=DATA, ObjectLockLegalHoldStatus="ON")
check(put == (400, "InvalidRequest") and (status, code(body)) == put
      and "Bucket is missing ObjectLockConfiguration" in body, f"no Object Lock: {status} {body} / {put}")
# A lock the bucket policy denies the owner: PutObject's 403, the other
# lock still allowed.
import json
deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Principal": "*",
        "Action": "s3:PutObjectRetention", "Resource": f"arn:aws:s3:::{B}/denied/*"}]}
v4.put_bucket_policy(Bucket=B, Policy=json.dumps(deny))
fields = {"x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": UNTIL, "Content-MD5": MD5}
status, _, body = send(lock_post(v4, "denied/retained.txt", fields), "f", DATA)
put = error_of(v4.put_object, Bucket=B, Key="denied/retained-put.txt", Body=DATA,
               ObjectLockMode="GOVERNANCE", ObjectLockRetainUntilDate=until)
check(put == (403, "AccessDenied") and (status, code(body)) == put, f"denied retention: {status} {body} / {put}")
fields = {"x-amz-object-lock-legal-hold": "ON", "Content-MD5": MD5}
status, _, body = send(lock_post(v4, "denied/held.txt", fields), "f", DATA)
check(status == 204, f"the hold is not denied: {status} {body}")
listed = v4.list_objects_v2(Bucket=B, Prefix="denied/")
check([o["Key"] for o in listed.get("Contents", [])] == ["denied/held.txt"], f"denied: {listed}")
v4.delete_bucket_policy(Bucket=B)
listed = v4.list_objects_v2(Bucket=B, Prefix="refused")
check("Contents" not in listed, f"nothing refused was stored: {listed}")
check("Contents" not in v4.list_objects_v2(Bucket="unlocked-forms"), "nothing stored without Object Lock")
print("locked ok")
"#;

const REVOKED: &str = r#"
other = client(os.environ["OTHER_AK"], os.environ["OTHER_SK"])
post = other.generate_presigned_post("other-forms", "k", ExpiresIn=300)
status, _, body = send(post, "x", b"after revocation")
check((status, code(body)) == (403, "InvalidAccessKeyId"), f"revoked key: {status} {body}")
print("revoked ok")
"#;

async fn run_python(
    python: &PathBuf,
    server: &TestServer,
    env: &[(&str, &str)],
    script: &str,
    ok: &str,
) {
    // The keys come in `env`: no default ones.
    let home = tempfile::tempdir().expect("temp home");
    let out = tokio::process::Command::from(isolated_command(python, home.path()))
        .env("ENDPOINT", server.aws_url())
        .envs(env.iter().copied())
        .arg("-c")
        .arg(format!("{PRELUDE}\n{script}"))
        .kill_on_drop(true)
        .output()
        .await
        .expect("python runs");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains(ok),
        "the boto3 form script failed: {}\n{}\nserver log:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        server.log()
    );
}

async fn form_uploads(backend: Backend) {
    let Some(python) = python() else { return };
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (native, alice) = server.user("alice").await;
    let (mallory_native, mallory) = server.user("mallory").await;
    let env = [
        ("AK", alice.access_key_id.as_str()),
        ("SK", alice.secret_access_key.as_str()),
        ("OTHER_AK", mallory.access_key_id.as_str()),
        ("OTHER_SK", mallory.secret_access_key.as_str()),
    ];
    run_python(&python, &server, &env, MAIN, "forms ok").await;

    // Revoking mallory's key revokes its form uploads at once.
    mallory_native
        .revoke_key(mallory.id, true)
        .await
        .expect("revoke mallory's key");
    run_python(&python, &server, &env, REVOKED, "revoked ok").await;

    // What was stored, through the SDK and through /storage.
    let s3 = s3_client(&server, &alice);
    let listed = s3
        .list_objects_v2()
        .bucket("forms")
        .send()
        .await
        .expect("list");
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(
        keys,
        [
            "classy.txt",
            "posted/hello.txt",
            "redirected.txt",
            "tagged.txt",
            "v4/data.bin",
            "vhost.txt"
        ],
        "exactly the accepted uploads, nothing from the refused ones"
    );
    let head = native
        .head_object("forms", "posted/hello.txt")
        .await
        .expect("native HEAD");
    assert_eq!(head["content-type"], "text/plain");
    assert_eq!(head["x-amz-meta-colour"], "blue");
    let download = native
        .get_object("forms", "posted/hello.txt", None, None)
        .await
        .expect("native GET");
    use futures::StreamExt;
    let body: Vec<u8> = download
        .body
        .map(|c| c.expect("chunk").to_vec())
        .concat()
        .await;
    assert_eq!(body, b"hello form");
    assert!(!server.log().contains("panicked"), "no panic in the log");
}

#[tokio::test]
async fn form_uploads_sqlite() {
    form_uploads(Backend::Sqlite).await;
}

#[tokio::test]
async fn form_uploads_postgres() {
    form_uploads(Backend::Postgres).await;
}

async fn locked_form_uploads(backend: Backend) {
    let Some(python) = python() else { return };
    let Some(server) = TestServer::start(backend).await else {
        return;
    };
    let (_, alice) = server.user("alice").await;
    let env = [
        ("AK", alice.access_key_id.as_str()),
        ("SK", alice.secret_access_key.as_str()),
    ];
    run_python(&python, &server, &env, LOCKED, "locked ok").await;
}

#[tokio::test]
async fn locked_form_uploads_sqlite() {
    locked_form_uploads(Backend::Sqlite).await;
}

#[tokio::test]
async fn locked_form_uploads_postgres() {
    locked_form_uploads(Backend::Postgres).await;
}
