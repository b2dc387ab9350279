// The media check's S3 client (runtime/media-check-s3.ts) on its own, against the hand-made e2 on loopback:
// what it sends (path style, no checksum headers), that every signature it sends is collected for the
// redactor, and that a call is bounded in time and cancellable without throwing. Keys and permissions are
// judged by Ceph RGW in media-check.test.ts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseInputs } from "../runtime/media-checks";
import { probeStore } from "../runtime/media-check-s3";
import { makePki, startFakeE2, type FakeE2, type TestPki } from "./support/fake-media-host";

const E2_HOST = "s3.test-region.e2.test";
// Hooks inside a describe: npm test runs several files in one process, where top-level hooks would be shared.
describe("the media check's S3 client against a loopback e2", () => {
  let pki: TestPki;
  let e2: FakeE2;
  let hanging: FakeE2;

  before(async () => {
    pki = makePki([E2_HOST]);
    e2 = await startFakeE2(pki.leaf(E2_HOST));
    hanging = await startFakeE2({ ...pki.leaf(E2_HOST), behaviour: { hang: true } });
  });
  after(async () => {
    await Promise.all([e2.close(), hanging.close()]);
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

  test("a call that gets no answer fails with TIMEOUT after the request bound, without throwing", async () => {
    const inputs = inputsFor(hanging.port, "0.3");
    const store = probeStore(inputs, inputs, new Set(), { ca: readFileSync(pki.caFile) });
    const started = performance.now();
    const result = await store.put("_probe/b.txt", "x");
    store.close();
    assert.deepEqual(result, { ok: false, failure: { code: "TIMEOUT", message: "no answer within 0.3s" } });
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
    assert.deepEqual(result, { ok: false, failure: { code: "CANCELLED", message: "cancelled" } });
  });
});
