// The AWS SDK for JavaScript v3 against Mini AWS, with its default checksum
// settings (CRC32 in aws-chunked trailers on PUT, response validation on
// GET). Run by crates/server/tests/s3_more_clients.rs with NODE_PATH at the
// node_modules scripts/provision installs (target/jsenv), ENDPOINT (a URL)
// and the key in AWS_*; prints "sdk v3 ok" at the end.
"use strict";
const assert = require("node:assert/strict");
const crypto = require("node:crypto");
const {
  S3Client,
  CreateBucketCommand,
  CopyObjectCommand,
  PutObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  DeleteBucketCommand,
  ListBucketsCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  CompleteMultipartUploadCommand,
  paginateListBuckets,
} = require("@aws-sdk/client-s3");
const { Upload } = require("@aws-sdk/lib-storage");
const { getSignedUrl } = require("@aws-sdk/s3-request-presigner");

const md5 = (b) => crypto.createHash("md5").update(b).digest("hex");

async function main() {
  const s3 = new S3Client({
    endpoint: process.env.ENDPOINT,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID,
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
    },
  });
  // Records how each request was signed and framed, to show which used
  // aws-chunked bodies with trailing checksums.
  const sent = [];
  s3.middlewareStack.add(
    (next, context) => async (args) => {
      const h = args.request.headers;
      sent.push({
        op: context.commandName,
        sha256: h["x-amz-content-sha256"],
        encoding: h["content-encoding"],
        trailer: h["x-amz-trailer"],
      });
      return next(args);
    },
    { step: "finalizeRequest", name: "recordHeaders", priority: "low" },
  );
  const Bucket = "js-bucket";
  await s3.send(new CreateBucketCommand({ Bucket }));
  const buckets = await s3.send(new ListBucketsCommand({}));
  assert.ok(buckets.Buckets.some((b) => b.Name === Bucket), "listed bucket");
  // The SDK's paginator, one bucket a page (max-buckets, continuation-token).
  await s3.send(new CreateBucketCommand({ Bucket: "js-bucket-2" }));
  const pages = [];
  for await (const page of paginateListBuckets({ client: s3, pageSize: 1 }, { Prefix: "js-" })) {
    pages.push(page.Buckets.map((b) => b.Name));
  }
  assert.deepEqual(pages, [[Bucket], ["js-bucket-2"]]);
  await s3.send(new DeleteBucketCommand({ Bucket: "js-bucket-2" }));

  // put/get with the default checksums: a Buffer body and a string body.
  const body = crypto.randomBytes(1024 * 1024 + 7);
  const put = await s3.send(
    new PutObjectCommand({ Bucket, Key: "dir/obj.bin", Body: body, Metadata: { colour: "blue" } }),
  );
  assert.equal(put.ETag, `"${md5(body)}"`);
  assert.ok(put.ChecksumCRC32, "the CRC32 the SDK sent is answered");
  const got = await s3.send(new GetObjectCommand({ Bucket, Key: "dir/obj.bin" }));
  const back = Buffer.from(await got.Body.transformToByteArray());
  assert.ok(back.equals(body), "round trip");
  assert.equal(got.ETag, put.ETag);
  assert.deepEqual(got.Metadata, { colour: "blue" });
  await s3.send(new PutObjectCommand({ Bucket, Key: "dir/two.txt", Body: "two" }));
  // A stream body of known length: the SDK sends it aws-chunked with its
  // CRC32 in a trailer.
  const streamed = crypto.randomBytes(300 * 1024 + 5);
  const { Readable } = require("node:stream");
  const sput = await s3.send(
    new PutObjectCommand({
      Bucket,
      Key: "dir/streamed.bin",
      Body: Readable.from([streamed.subarray(0, 100000), streamed.subarray(100000)]),
      ContentLength: streamed.length,
    }),
  );
  assert.equal(sput.ETag, `"${md5(streamed)}"`);
  const sgot = await s3.send(new GetObjectCommand({ Bucket, Key: "dir/streamed.bin" }));
  assert.ok(Buffer.from(await sgot.Body.transformToByteArray()).equals(streamed), "streamed bytes");
  const head = await s3.send(
    new HeadObjectCommand({ Bucket, Key: "dir/two.txt", ChecksumMode: "ENABLED" }),
  );
  assert.equal(head.ContentLength, 3);
  assert.ok(head.ChecksumCRC32, "the stored CRC32 is returned");

  // A multipart Upload of 12 MiB from a stream (parts of 5 MiB: 3 parts).
  const big = crypto.randomBytes(12 * 1024 * 1024);
  const chunks = [];
  for (let i = 0; i < big.length; i += 1024 * 1024) chunks.push(big.subarray(i, i + 1024 * 1024));
  const upload = new Upload({
    client: s3,
    params: { Bucket, Key: "big/twelve.bin", Body: Readable.from(chunks) },
    partSize: 5 * 1024 * 1024,
    queueSize: 2,
  });
  const done = await upload.done();
  const partMd5s = Buffer.concat(
    [0, 1, 2].map((i) =>
      crypto.createHash("md5").update(big.subarray(i * 5 * 1024 * 1024, (i + 1) * 5 * 1024 * 1024)).digest(),
    ),
  );
  assert.equal(done.ETag, `"${md5(partMd5s)}-3"`);
  const gotBig = await s3.send(new GetObjectCommand({ Bucket, Key: "big/twelve.bin" }));
  assert.ok(Buffer.from(await gotBig.Body.transformToByteArray()).equals(big), "multipart bytes");

  // List, with and without a delimiter.
  const all = await s3.send(new ListObjectsV2Command({ Bucket }));
  assert.deepEqual(
    all.Contents.map((o) => o.Key),
    ["big/twelve.bin", "dir/obj.bin", "dir/streamed.bin", "dir/two.txt"],
  );
  assert.equal(all.KeyCount, 4);
  const top = await s3.send(new ListObjectsV2Command({ Bucket, Delimiter: "/" }));
  assert.deepEqual(top.CommonPrefixes.map((p) => p.Prefix), ["big/", "dir/"]);
  const paged = await s3.send(new ListObjectsV2Command({ Bucket, MaxKeys: 2 }));
  assert.equal(paged.IsTruncated, true);
  const rest = await s3.send(
    new ListObjectsV2Command({ Bucket, ContinuationToken: paged.NextContinuationToken }),
  );
  assert.deepEqual(rest.Contents.map((o) => o.Key), ["dir/streamed.bin", "dir/two.txt"]);

  // Presigned GET and PUT, fetched with Node's own fetch.
  const getUrl = await getSignedUrl(s3, new GetObjectCommand({ Bucket, Key: "dir/two.txt" }), {
    expiresIn: 300,
  });
  const res = await fetch(getUrl);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "two");
  const putUrl = await getSignedUrl(s3, new PutObjectCommand({ Bucket, Key: "dir/url.txt" }), {
    expiresIn: 300,
  });
  const putRes = await fetch(putUrl, { method: "PUT", body: "by url" });
  assert.equal(putRes.status, 200, await putRes.text());
  const viaUrl = await s3.send(new GetObjectCommand({ Bucket, Key: "dir/url.txt" }));
  assert.equal(await viaUrl.Body.transformToString(), "by url");

  // Keys that need escaping in the path, the signature and the XML (sent
  // as UTF-8; line ends as character references, which the SDK's parser
  // needs: it turns a raw CR or CRLF into LF, as XML parsers must), through
  // put, copy, list and DeleteObjects.
  const odd = [
    "odd/a b+c ü?.txt",
    "odd/emoji 😀",
    "odd/x=y&z;1 ~!'()*",
    "odd/pct%20lit",
    "odd/cr\rkey",
    "odd/crlf\r\nkey",
    "odd/lf\nkey",
    "odd/tab\tkey",
  ];
  for (const Key of odd) {
    await s3.send(new PutObjectCommand({ Bucket, Key, Body: Key }));
    await s3.send(
      new CopyObjectCommand({ Bucket, Key: `${Key}.copy`, CopySource: encodeURIComponent(`${Bucket}/${Key}`) }),
    );
    const back = await s3.send(new GetObjectCommand({ Bucket, Key: `${Key}.copy` }));
    assert.equal(await back.Body.transformToString(), Key);
  }
  // A multipart upload of a key with line ends: every answer naming it
  // names it exactly.
  const mpKey = "odd/mp\r\nkey";
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: mpKey }));
  assert.equal(created.Key, mpKey);
  const UploadId = created.UploadId;
  const part = await s3.send(
    new UploadPartCommand({ Bucket, Key: mpKey, UploadId, PartNumber: 1, Body: "part" }),
  );
  const uploads = await s3.send(new ListMultipartUploadsCommand({ Bucket, Prefix: "odd/" }));
  assert.deepEqual(uploads.Uploads.map((u) => u.Key), [mpKey]);
  const parts = await s3.send(new ListPartsCommand({ Bucket, Key: mpKey, UploadId }));
  assert.equal(parts.Key, mpKey);
  const completed = await s3.send(
    new CompleteMultipartUploadCommand({
      Bucket,
      Key: mpKey,
      UploadId,
      MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] },
    }),
  );
  assert.equal(completed.Key, mpKey);
  odd.push(mpKey);
  const oddListed = await s3.send(new ListObjectsV2Command({ Bucket, Prefix: "odd/" }));
  const oddKeys = odd.flatMap((k) => (k === mpKey ? [k] : [k, `${k}.copy`]));
  assert.deepEqual(oddListed.Contents.map((o) => o.Key), [...oddKeys].sort());
  const oddDel = await s3.send(
    new DeleteObjectsCommand({ Bucket, Delete: { Objects: oddKeys.map((Key) => ({ Key })) } }),
  );
  assert.deepEqual(oddDel.Deleted.map((d) => d.Key).sort(), [...oddKeys].sort());

  // Delete: one by one and DeleteObjects (which the SDK sends with a checksum).
  await s3.send(new DeleteObjectCommand({ Bucket, Key: "dir/url.txt" }));
  const del = await s3.send(
    new DeleteObjectsCommand({
      Bucket,
      Delete: { Objects: ["big/twelve.bin", "dir/obj.bin", "dir/streamed.bin", "dir/two.txt"].map((Key) => ({ Key })) },
    }),
  );
  assert.equal(del.Deleted.length, 4);
  assert.equal(del.Errors, undefined);
  const empty = await s3.send(new ListObjectsV2Command({ Bucket }));
  assert.equal(empty.KeyCount, 0);
  await assert.rejects(s3.send(new GetObjectCommand({ Bucket, Key: "dir/obj.bin" })), (e) => {
    assert.equal(e.name, "NoSuchKey");
    return true;
  });
  await s3.send(new DeleteBucketCommand({ Bucket }));
  assert.ok(
    sent.some(
      (r) =>
        r.op === "PutObjectCommand" &&
        r.sha256 === "STREAMING-UNSIGNED-PAYLOAD-TRAILER" &&
        r.encoding === "aws-chunked" &&
        r.trailer === "x-amz-checksum-crc32",
    ),
    `the stream went aws-chunked with a CRC32 trailer: ${JSON.stringify(sent)}`,
  );
  console.log("sdk v3 ok");
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
