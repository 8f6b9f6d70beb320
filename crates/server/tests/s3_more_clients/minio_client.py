# minio-py against Mini AWS: its own SigV4 and XML, not botocore's.
# Run by crates/server/tests/s3_more_clients.rs with ENDPOINT (host:port),
# AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; prints "minio ok" at the end.
import hashlib
import io
import os
import sys
import tempfile
import urllib.request
from datetime import timedelta

from minio import Minio
from minio.commonconfig import CopySource, Tags
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

client = Minio(
    os.environ["ENDPOINT"],
    access_key=os.environ["AWS_ACCESS_KEY_ID"],
    secret_key=os.environ["AWS_SECRET_ACCESS_KEY"],
    secure=False,
    region="us-east-1",
)
B = "minio-bucket"

client.make_bucket(B)
assert client.bucket_exists(B)
assert not client.bucket_exists("minio-nothing-here")
assert B in [b.name for b in client.list_buckets()]

# Small put: the ETag is the quoted MD5 (minio strips the quotes).
small = b"hello from minio-py\n"
res = client.put_object(B, "dir/small.txt", io.BytesIO(small), len(small),
                        content_type="text/plain", metadata={"colour": "blue"})
assert res.etag == hashlib.md5(small).hexdigest(), res.etag

# Multipart: 12 MiB in 5 MiB parts (3 parts), its ETag "<md5 of md5s>-3".
big = os.urandom(12 * 1024 * 1024)
res = client.put_object(B, "dir/big.bin", io.BytesIO(big), -1, part_size=5 * 1024 * 1024)
part_md5s = b"".join(hashlib.md5(big[i:i + 5 * 1024 * 1024]).digest()
                     for i in range(0, len(big), 5 * 1024 * 1024))
assert res.etag == hashlib.md5(part_md5s).hexdigest() + "-3", res.etag
resp = client.get_object(B, "dir/big.bin")
try:
    assert resp.read() == big, "the multipart object comes back byte for byte"
finally:
    resp.close()
    resp.release_conn()

# stat_object: size, ETag, content type, user metadata.
st = client.stat_object(B, "dir/small.txt")
assert st.size == len(small), st.size
assert st.etag == hashlib.md5(small).hexdigest(), st.etag
assert st.content_type == "text/plain", st.content_type
assert st.metadata.get("x-amz-meta-colour") == "blue", dict(st.metadata)
try:
    client.stat_object(B, "dir/none")
    sys.exit("a missing key was found")
except S3Error as e:
    assert e.code == "NoSuchKey", e.code

# fput / fget: files up and down.
with tempfile.TemporaryDirectory() as tmp:
    up = os.path.join(tmp, "up.bin")
    data = os.urandom(300 * 1024 + 3)
    with open(up, "wb") as f:
        f.write(data)
    client.fput_object(B, "files/up.bin", up)
    down = os.path.join(tmp, "down.bin")
    client.fget_object(B, "files/up.bin", down)
    with open(down, "rb") as f:
        assert f.read() == data, "fget returns fput's bytes"

# Listing: flat with a prefix, by "directory", recursive.
top = sorted((o.object_name, o.is_dir) for o in client.list_objects(B))
assert top == [("dir/", True), ("files/", True)], top
flat = [o.object_name for o in client.list_objects(B, prefix="dir/")]
assert flat == ["dir/big.bin", "dir/small.txt"], flat
rec = [(o.object_name, o.size) for o in client.list_objects(B, recursive=True)]
assert rec == [("dir/big.bin", len(big)), ("dir/small.txt", len(small)),
               ("files/up.bin", len(data))], rec
v1 = [o.object_name for o in client.list_objects(B, recursive=True, use_api_v1=True)]
assert v1 == ["dir/big.bin", "dir/small.txt", "files/up.bin"], v1

# A presigned GET, fetched with urllib (no SDK).
url = client.presigned_get_object(B, "dir/small.txt", expires=timedelta(minutes=5))
with urllib.request.urlopen(url) as r:
    assert r.read() == small
# And a presigned PUT.
url = client.presigned_put_object(B, "presigned.txt", expires=timedelta(minutes=5))
req = urllib.request.Request(url, data=b"put by url", method="PUT")
with urllib.request.urlopen(req) as r:
    assert r.status == 200, r.status
resp = client.get_object(B, "presigned.txt")
assert resp.read() == b"put by url"
resp.close()
resp.release_conn()

# Keys that need escaping in the path and the signature, through put,
# stat, a presigned GET and DeleteObjects. (No emoji here: minio-py writes
# them in DeleteObjects' XML as character references, which s3s refuses;
# see the README's "What is s3s, what is ours".)
odd = ["odd/a b+c ü?.txt", "odd/x=y&z;1 ~!'()*", "odd/pct%20lit", "odd/back\\slash"]
for k in odd:
    client.put_object(B, k, io.BytesIO(k.encode()), len(k.encode()))
    assert client.stat_object(B, k).size == len(k.encode()), k
    with urllib.request.urlopen(client.presigned_get_object(B, k)) as r:
        assert r.read() == k.encode(), k
assert [o.object_name for o in client.list_objects(B, prefix="odd/")] == sorted(odd)
assert list(client.remove_objects(B, [DeleteObject(k) for k in odd])) == []
assert list(client.list_objects(B, prefix="odd/")) == []

# copy_object: server-side copy; metadata copied.
res = client.copy_object(B, "copy/small.txt", CopySource(B, "dir/small.txt"))
assert res.etag == hashlib.md5(small).hexdigest(), res.etag
st = client.stat_object(B, "copy/small.txt")
assert st.metadata.get("x-amz-meta-colour") == "blue", dict(st.metadata)

# Bucket tags and object tags.
tags = Tags.new_bucket_tags()
tags["team"] = "blue green"
tags["env"] = "dev"
client.set_bucket_tags(B, tags)
got = client.get_bucket_tags(B)
assert dict(got) == {"team": "blue green", "env": "dev"}, got
client.delete_bucket_tags(B)
assert client.get_bucket_tags(B) is None
otags = Tags.new_object_tags()
otags["kind"] = "text"
client.set_object_tags(B, "dir/small.txt", otags)
got = client.get_object_tags(B, "dir/small.txt")
assert dict(got) == {"kind": "text"}, got
client.delete_object_tags(B, "dir/small.txt")
assert not client.get_object_tags(B, "dir/small.txt")

# Settings Mini AWS has none of answer as S3 answers for a bucket without
# them: no notifications, no replication (minio maps its 404 to None).
notif = client.get_bucket_notification(B)
assert not notif.queue_config_list and not notif.cloud_func_config_list and not notif.topic_config_list, notif
assert client.get_bucket_replication(B) is None

# remove_objects: one DeleteObjects (quiet); an error list that is empty.
names = [o.object_name for o in client.list_objects(B, recursive=True)]
assert len(names) == 5, names
errors = list(client.remove_objects(B, [DeleteObject(n) for n in names]))
assert errors == [], errors
assert list(client.list_objects(B, recursive=True)) == []

client.remove_bucket(B)
assert not client.bucket_exists(B)
try:
    client.remove_bucket(B)
    sys.exit("a removed bucket was removed again")
except S3Error as e:
    assert e.code == "NoSuchBucket", e.code
print("minio ok")
