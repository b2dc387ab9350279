// The media check's S3 client (runtime/media-check-s3.ts) on its own, against the hand-made e2 on loopback,
// which records every request's headers: what it sends (path style; Mastodon's upload headers; which calls
// carry a checksum with WHEN_REQUIRED: PutObject none, DeleteObjects a CRC32 because the operation requires
// one, the multipart upload CRC32 because Mastodon's SDK asks for it), that every signature it sends is
// collected for the redactor, and that a call is bounded in time and cancellable without throwing. Keys and permissions are
// judged by Ceph RGW in media-check.test.ts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { crc32 } from "node:zlib";
import { parseInputs } from "../runtime/media-checks";
import { probeStore } from "../runtime/media-check-s3";
import { makePki, startFakeE2, type E2Record, type FakeE2, type TestPki } from "./support/fake-media-host";

const E2_HOST = "s3.test-region.e2.test";
// Hooks inside a describe: npm test runs several files in one process, where top-level hooks would be shared.
describe("the media check's S3 client against a loopback e2", () => {
  let pki: TestPki;
  let e2: FakeE2;
  let hanging: FakeE2;
  let refusing: FakeE2;

  before(async () => {
    pki = makePki([E2_HOST]);
    e2 = await startFakeE2(pki.leaf(E2_HOST));
    hanging = await startFakeE2({ ...pki.leaf(E2_HOST), behaviour: { hang: true } });
    refusing = await startFakeE2({
      ...pki.leaf(E2_HOST),
      behaviour: { batchDeleteErrorCode: "AccessDenied" },
    });
  });
  after(async () => {
    await Promise.all([e2.close(), hanging.close(), refusing.close()]);
    pki.dispose();
  });

  // Requests to the fake e2 that answers get the longest time-out the check accepts (120 s), which a busy
  // machine cannot reach; short ones only go to the one that never answers.
  function inputsFor(port: number, requestTimeoutSeconds = "120") {
    return parseInputs({
      MEDIA_HOST: "files.example.test",
      E2_ENDPOINT: E2_HOST,
      S3_BUCKET: "files",
      S3_REGION: "test-region-1",
      AWS_ACCESS_KEY_ID: "KEYID",
      AWS_SECRET_ACCESS_KEY: "secret",
      MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS: requestTimeoutSeconds,
      MEDIA_CHECK_CONNECT_TO: `${E2_HOST}=127.0.0.1:${port}`,
    });
  }

  test("put, get and delete go path-style to /<bucket>/<key>, without checksum headers, and every signature is collected", async () => {
    const signatures = new Set<string>();
    const inputs = inputsFor(e2.port);
    const store = probeStore(inputs, inputs, signatures, { ca: readFileSync(pki.caFile) });
    try {
      assert.deepEqual(await store.put("_probe/a.txt", "hello\n"), { ok: true, value: undefined });
      assert.deepEqual(await store.get("_probe/a.txt"), { ok: true, value: "hello\n" });
      assert.deepEqual(await store.delete("_probe/a.txt"), { ok: true, value: undefined });
    } finally {
      store.close();
    }
    assert.deepEqual(
      e2.log.map((r) => `${r.method} ${r.path.split("?")[0]} ${r.headers["host"]}`),
      ["PUT", "GET", "DELETE"].map((m) => `${m} /files/_probe/a.txt ${E2_HOST}`),
    );
    const put = e2.log[0];
    assert.equal(put.headers["content-type"], "text/plain; charset=utf-8");
    assert.equal(put.headers["cache-control"], "no-store");
    assert.deepEqual(
      Object.keys(put.headers).filter(
        (h) => h.startsWith("x-amz-checksum") || h === "x-amz-sdk-checksum-algorithm",
      ),
      [],
    );
    const sent = e2.log.map((r) => /Signature=([0-9a-f]{64})$/.exec(String(r.headers["authorization"]))?.[1]);
    assert.deepEqual([...signatures].sort(), [...sent].sort());
  });

  /** Request headers that say something about checksums. */
  function checksumHeaders(r: E2Record): Record<string, unknown> {
    return Object.fromEntries(
      Object.entries(r.headers).filter(
        ([h]) =>
          h.startsWith("x-amz-checksum") || h === "x-amz-sdk-checksum-algorithm" || h === "content-md5",
      ),
    );
  }
  const b64crc32 = (data: Buffer): string => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(crc32(data));
    return b.toString("base64");
  };
  const MASTODON_HEADERS = {
    cacheControl: "public, max-age=315576000, immutable",
    contentType: "text/plain",
  };

  test("PutObject with Mastodon's headers sends its Cache-Control and Content-Type, x-amz-acl only for a non-empty S3_PERMISSION, and no checksum or Content-MD5", async () => {
    const inputs = inputsFor(e2.port);
    const store = probeStore(inputs, inputs, new Set(), { ca: readFileSync(pki.caFile) });
    const from = e2.log.length;
    try {
      assert.equal(
        (await store.put("_probe/m1.txt", "x", undefined, { ...MASTODON_HEADERS, acl: "" })).ok,
        true,
      );
      assert.equal(
        (await store.put("_probe/m2.txt", "x", undefined, { ...MASTODON_HEADERS, acl: "public-read" })).ok,
        true,
      );
    } finally {
      store.close();
    }
    const [empty, publicRead] = e2.log.slice(from);
    for (const put of [empty, publicRead]) {
      assert.equal(put.method, "PUT");
      assert.equal(put.headers["cache-control"], "public, max-age=315576000, immutable");
      assert.equal(put.headers["content-type"], "text/plain");
      assert.deepEqual(checksumHeaders(put), {});
    }
    assert.equal("x-amz-acl" in empty.headers, false);
    assert.equal(publicRead.headers["x-amz-acl"], "public-read");
  });

  test("DeleteObjects sends Quiet and every key, with an x-amz-checksum-crc32 of its body even under WHEN_REQUIRED, and no Content-MD5", async () => {
    const inputs = inputsFor(e2.port);
    const store = probeStore(inputs, inputs, new Set(), { ca: readFileSync(pki.caFile) });
    const from = e2.log.length;
    try {
      assert.equal((await store.put("_probe/d1.txt", "x")).ok, true);
      assert.deepEqual(await store.deleteBatch(["_probe/d1.txt", "_probe/d2.txt"]), {
        ok: true,
        value: undefined,
      });
      assert.deepEqual(await store.size("_probe/d1.txt"), { ok: true, value: undefined });
    } finally {
      store.close();
    }
    const [, batch, head] = e2.log.slice(from);
    assert.equal(`${batch.method} ${batch.path}`, "POST /files/?delete=");
    assert.match(
      batch.xml ?? "",
      /<Object><Key>_probe\/d1\.txt<\/Key><\/Object><Object><Key>_probe\/d2\.txt<\/Key><\/Object><Quiet>true<\/Quiet>/,
    );
    assert.deepEqual(checksumHeaders(batch), {
      "x-amz-sdk-checksum-algorithm": "CRC32",
      "x-amz-checksum-crc32": b64crc32(Buffer.from(batch.xml!)),
    });
    assert.equal(`${head.method} ${head.status}`, "HEAD 404");
  });

  test("a DeleteObjects answered 200 with per-key <Error> entries is a failure of the call with the first entry's code", async () => {
    const inputs = inputsFor(refusing.port);
    const store = probeStore(inputs, inputs, new Set(), { ca: readFileSync(pki.caFile) });
    try {
      assert.deepEqual(await store.deleteBatch(["_probe/e1.txt"]), {
        ok: false,
        failure: { call: "DeleteObjects", status: 200, code: "AccessDenied", message: "refused 1 of 1 keys" },
      });
    } finally {
      store.close();
    }
  });

  test("a multipart upload asks for CRC32 on CreateMultipartUpload, sends each part with its CRC32, completes with the parts' ETags and checksums", async () => {
    const inputs = inputsFor(e2.port);
    const store = probeStore(inputs, inputs, new Set(), { ca: readFileSync(pki.caFile) });
    const from = e2.log.length;
    const partSize = 5 * 1024 * 1024;
    try {
      assert.deepEqual(
        await store.multipart("_probe/big.bin", {
          size: partSize + 1,
          partSize,
          headers: { ...MASTODON_HEADERS, contentType: "application/octet-stream" },
        }),
        { ok: true, value: undefined },
      );
      assert.deepEqual(await store.size("_probe/big.bin"), { ok: true, value: partSize + 1 });
    } finally {
      store.close();
    }
    const [create, part1, part2, complete] = e2.log.slice(from);
    assert.equal(`${create.method} ${create.path}`, "POST /files/_probe/big.bin?uploads=");
    assert.equal(create.headers["cache-control"], "public, max-age=315576000, immutable");
    assert.equal(create.headers["content-type"], "application/octet-stream");
    assert.deepEqual(checksumHeaders(create), { "x-amz-checksum-algorithm": "CRC32" });
    assert.deepEqual(
      [part1, part2].map((p) => [p.path.replace(/uploadId=[^&]+/, "uploadId=U"), p.bodyBytes]),
      [
        ["/files/_probe/big.bin?partNumber=1&uploadId=U&x-id=UploadPart", partSize],
        ["/files/_probe/big.bin?partNumber=2&uploadId=U&x-id=UploadPart", 1],
      ],
    );
    const block = Buffer.alloc(partSize, "mastodon-media multipart probe\n");
    assert.deepEqual(checksumHeaders(part1), {
      "x-amz-sdk-checksum-algorithm": "CRC32",
      "x-amz-checksum-crc32": b64crc32(block),
    });
    assert.deepEqual(checksumHeaders(part2), {
      "x-amz-sdk-checksum-algorithm": "CRC32",
      "x-amz-checksum-crc32": b64crc32(block.subarray(0, 1)),
    });
    assert.equal(complete.method, "POST");
    // The checksums the parts were sent with (echoed by the stand-in, as S3 does), in part order.
    assert.ok(
      (complete.xml ?? "").includes(
        [block, block.subarray(0, 1)]
          .map(
            (b, i) =>
              `<Part><ETag>&quot;part-${i + 1}&quot;</ETag><ChecksumCRC32>${b64crc32(b)}</ChecksumCRC32><PartNumber>${i + 1}</PartNumber></Part>`,
          )
          .join(""),
      ),
      complete.xml,
    );
    assert.deepEqual(checksumHeaders(complete), {});
  });

  test("a call that gets no answer fails with TIMEOUT after the request bound, without throwing", async () => {
    const inputs = inputsFor(hanging.port, "0.3");
    const store = probeStore(inputs, inputs, new Set(), { ca: readFileSync(pki.caFile) });
    const started = performance.now();
    const result = await store.put("_probe/b.txt", "x");
    store.close();
    assert.deepEqual(result, {
      ok: false,
      failure: { call: "PutObject", code: "TIMEOUT", message: "no answer within 0.3s" },
    });
    // At least the bound; no upper bound asserted (a loaded machine only makes it later).
    assert.ok(performance.now() - started >= 290);
  });

  test("a cancelled call fails with CANCELLED at once", async () => {
    const inputs = inputsFor(hanging.port, "30");
    const store = probeStore(inputs, inputs, new Set(), { ca: readFileSync(pki.caFile) });
    const cancel = new AbortController();
    const pending = store.put("_probe/c.txt", "x", cancel.signal);
    setTimeout(() => cancel.abort(), 50);
    const result = await pending;
    store.close();
    assert.deepEqual(result, {
      ok: false,
      failure: { call: "PutObject", code: "CANCELLED", message: "cancelled" },
    });
  });
});
