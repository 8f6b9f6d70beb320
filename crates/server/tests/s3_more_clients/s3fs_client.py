# s3fs / fsspec (on aiobotocore) against Mini AWS: what pandas and other
# data tools use for s3:// URLs. Run by crates/server/tests/s3_more_clients.rs
# with ENDPOINT (a URL) and the key in AWS_*; prints "s3fs ok" at the end.
import hashlib
import os

import fsspec
import s3fs

# The region comes from AWS_DEFAULT_REGION (us-east-1). Given as
# `region_name` instead, s3fs's mkdir would name it as the new bucket's
# LocationConstraint, which S3 refuses for us-east-1, and so does Mini AWS.
fs = s3fs.S3FileSystem(
    key=os.environ["AWS_ACCESS_KEY_ID"],
    secret=os.environ["AWS_SECRET_ACCESS_KEY"],
    client_kwargs={"endpoint_url": os.environ["ENDPOINT"]},
    use_listings_cache=False,
)
B = "s3fs-bucket"
fs.mkdir(B)
with_region = s3fs.S3FileSystem(
    key=os.environ["AWS_ACCESS_KEY_ID"],
    secret=os.environ["AWS_SECRET_ACCESS_KEY"],
    client_kwargs={"endpoint_url": os.environ["ENDPOINT"], "region_name": "us-east-1"},
    use_listings_cache=False,
)
try:
    with_region.mkdir("s3fs-located")
    raise AssertionError("a bucket located in us-east-1 by name was created")
except OSError as e:
    assert "location-constraint is not valid" in str(e), e
assert "s3fs-located" not in [p.rstrip("/") for p in fs.ls("", refresh=True)]
assert B in [p.rstrip("/") for p in fs.ls("")], fs.ls("")

# open/write/read, text and binary; a 7 MiB file written in 5 MiB blocks
# is a multipart upload of two parts.
with fs.open(f"{B}/data/a.csv", "w") as f:
    f.write("x,y\n1,2\n3,4\n")
with fs.open(f"{B}/data/a.csv", "r") as f:
    assert f.read() == "x,y\n1,2\n3,4\n"
big = os.urandom(7 * 1024 * 1024 + 11)
with fs.open(f"{B}/data/sub/big.bin", "wb", block_size=5 * 1024 * 1024) as f:
    for i in range(0, len(big), 1024 * 1024):
        f.write(big[i:i + 1024 * 1024])
with fs.open(f"{B}/data/sub/big.bin", "rb") as f:
    f.seek(5 * 1024 * 1024)
    assert f.read(1000) == big[5 * 1024 * 1024:5 * 1024 * 1024 + 1000], "ranged read"
    f.seek(0)
    assert f.read() == big, "whole read"
info = fs.info(f"{B}/data/sub/big.bin")
assert info["size"] == len(big), info
assert info["ETag"].strip('"').endswith("-2"), info
fs.pipe(f"{B}/data/b.txt", b"bee")
fs.pipe(f"{B}/other.txt", b"other")

# ls, glob, cat, find, exists.
assert fs.ls(f"{B}/data", detail=False) == [f"{B}/data/a.csv", f"{B}/data/b.txt", f"{B}/data/sub"], fs.ls(f"{B}/data", detail=False)
assert fs.glob(f"{B}/data/*.txt") == [f"{B}/data/b.txt"], fs.glob(f"{B}/data/*.txt")
assert fs.glob(f"{B}/**/*.bin") == [f"{B}/data/sub/big.bin"], fs.glob(f"{B}/**/*.bin")
assert fs.cat(f"{B}/data/b.txt") == b"bee"
assert fs.cat_file(f"{B}/data/sub/big.bin", start=10, end=20) == big[10:20]
assert fs.find(B) == [f"{B}/data/a.csv", f"{B}/data/b.txt", f"{B}/data/sub/big.bin", f"{B}/other.txt"], fs.find(B)
assert fs.exists(f"{B}/data/sub") and not fs.exists(f"{B}/nope")
assert fs.checksum(f"{B}/data/b.txt") is not None
fs.copy(f"{B}/data/b.txt", f"{B}/copy/b.txt")
assert fs.cat(f"{B}/copy/b.txt") == b"bee"

# fsspec's URL interface, as pandas calls it.
with fsspec.open(f"s3://{B}/data/a.csv", "rt",
                 key=os.environ["AWS_ACCESS_KEY_ID"],
                 secret=os.environ["AWS_SECRET_ACCESS_KEY"],
                 client_kwargs={"endpoint_url": os.environ["ENDPOINT"]}) as f:
    assert f.readline() == "x,y\n"

# rm recursive, then the bucket.
fs.rm(f"{B}/data", recursive=True)
assert fs.find(B) == [f"{B}/copy/b.txt", f"{B}/other.txt"], fs.find(B)
fs.rm(f"{B}/copy/b.txt")
fs.rm(f"{B}/other.txt")
assert fs.find(B) == []
fs.rmdir(B)
assert B not in [p.rstrip("/") for p in fs.ls("", refresh=True)]
print("s3fs ok")
