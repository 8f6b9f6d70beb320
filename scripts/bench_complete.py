#!/usr/bin/env python3
"""Times CompleteMultipartUpload of a 1 GiB upload of 16 MiB parts.

Usage: [BENCH_DIR=dir] bench_complete.py <miniaws binary> [rounds]
Starts the server on a fresh data directory (SQLite), creates a key
through the native API, then per round: uploads 64 parts of 16 MiB with
boto3 and times the CompleteMultipartUpload call alone. Prints each
round's time and the bytes under objects/ before and after completion.
"""
import json, os, shutil, socket, subprocess, sys, tempfile, time, urllib.request

import boto3
from botocore.config import Config

PART = 16 << 20
PARTS = 64


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def stored_bytes(root):
    seen, total = set(), 0
    for d, _, files in os.walk(root):
        if os.path.basename(d) == "tmp":
            continue
        for f in files:
            st = os.stat(os.path.join(d, f))
            if st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_size
    return total


def main():
    binary = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    data = tempfile.mkdtemp(prefix="bench-complete-", dir=os.environ.get("BENCH_DIR"))
    native, aws = free_port(), free_port()
    server = subprocess.Popen(
        [binary, "--data-dir", data, "--listen", f"127.0.0.1:{native}",
         "--aws-listen", f"127.0.0.1:{aws}", "--log-level", "warn"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{native}/health")
                break
            except Exception:
                time.sleep(0.1)
        req = urllib.request.Request(
            f"http://127.0.0.1:{native}/auth/keys", data=b'{"name":"bench"}',
            headers={"content-type": "application/json"})
        key = json.load(urllib.request.urlopen(req))["data"]
        s3 = boto3.client(
            "s3", endpoint_url=f"http://127.0.0.1:{aws}", region_name="us-east-1",
            aws_access_key_id=key["access_key_id"],
            aws_secret_access_key=key["secret_access_key"],
            config=Config(request_checksum_calculation="when_required",
                          read_timeout=600))
        s3.create_bucket(Bucket="bench")
        body = os.urandom(PART)
        for r in range(rounds):
            up = s3.create_multipart_upload(Bucket="bench", Key=f"big-{r}")
            parts = []
            for n in range(1, PARTS + 1):
                out = s3.upload_part(Bucket="bench", Key=f"big-{r}", UploadId=up["UploadId"],
                                     PartNumber=n, Body=body)
                parts.append({"PartNumber": n, "ETag": out["ETag"]})
            os.sync()
            before = stored_bytes(os.path.join(data, "objects"))
            t = time.perf_counter()
            s3.complete_multipart_upload(Bucket="bench", Key=f"big-{r}", UploadId=up["UploadId"],
                                         MultipartUpload={"Parts": parts})
            elapsed = time.perf_counter() - t
            after = stored_bytes(os.path.join(data, "objects"))
            head = s3.head_object(Bucket="bench", Key=f"big-{r}")
            assert head["ContentLength"] == PART * PARTS
            print(f"round {r + 1}: complete {elapsed * 1000:.1f} ms; objects/ {before >> 20} MiB before, {after >> 20} MiB after")
            s3.delete_object(Bucket="bench", Key=f"big-{r}")
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(data, ignore_errors=True)


if __name__ == "__main__":
    main()
