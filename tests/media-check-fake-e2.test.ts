// The media check against the faults a real S3 server does not produce on demand: an e2 endpoint that never
// answers, and one that answers 503 SlowDown for a while. A hand-made e2 on loopback (it checks no
// signatures: media-check.test.ts runs against Ceph RGW for that), reached through MEDIA_CHECK_CONNECT_TO by
// the name its certificate carries. Also the checker's own input validation, which needs no server.
import { after, before, suite, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { MAX_TIMEOUT_SECONDS } from "../components/media-check-limits";
import { HANG_LIMIT_MS } from "./support/hang-limit";
import {
  makePki,
  startFakeE2,
  startFakeMediaHost,
  storeOrigin,
  type FakeE2Behaviour,
  type TestPki,
} from "./support/fake-media-host";
import {
  assertFailedAt,
  assertNothingSecretPrinted,
  runCheck,
  verdictLines,
} from "./support/media-check-run";

const MEDIA_HOST = "files.example.test";
const E2_HOST = "s3.test-region.e2.test";
const BUCKET = "files";
const REGION = "test-region-1";
const ACCESS_KEY_ID = "E2TESTKEYID" + randomBytes(6).toString("hex").toUpperCase();
const SECRET = "e2-test-secret-" + randomBytes(12).toString("base64url");
const MASTODON_KEY_ID = "MASTODONKEYID" + randomBytes(6).toString("hex").toUpperCase();

let pki: TestPki;
// For checks that pass once e2 recovers: the longest time-out the check accepts. A passing check ends when
// e2 answers, so this costs nothing, and a busy machine cannot push the good attempt past the deadline.
const PASSING_DEADLINE = String(MAX_TIMEOUT_SECONDS);

async function scenario(behaviour: FakeE2Behaviour, env: Record<string, string>) {
  const e2 = await startFakeE2({ ...pki.leaf(E2_HOST), behaviour });
  const media = await startFakeMediaHost({
    ...pki.leaf(MEDIA_HOST),
    host: MEDIA_HOST,
    origin: storeOrigin(e2.store, BUCKET),
  });
  try {
    const run = await runCheck(
      {
        NODE_EXTRA_CA_CERTS: pki.caFile,
        MEDIA_HOST,
        E2_ENDPOINT: E2_HOST,
        S3_BUCKET: BUCKET,
        S3_REGION: REGION,
        AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET,
        MEDIA_CHECK_CONNECT_TO: `${E2_HOST}=127.0.0.1:${e2.port},${MEDIA_HOST}=127.0.0.1:${media.port}`,
        ...env,
        // Only a guard against a hung checker, generous for a loaded machine.
      },
      HANG_LIMIT_MS,
    );
    assertNothingSecretPrinted(run, [ACCESS_KEY_ID, SECRET]);
    return { run, e2, media };
  } finally {
    await Promise.all([e2.close(), media.close()]);
  }
}

suite("media-check script against e2 faults on loopback", { concurrency: 3 }, () => {
  // Inside the suite: npm test runs several files in one process, where top-level hooks would be shared.
  before(() => {
    pki = makePki([MEDIA_HOST, E2_HOST]);
  });
  after(() => pki.dispose());

  test("an e2 endpoint that never answers fails at upload with the request time-out, and the cleanup is bounded too", async () => {
    const { run, e2, media } = await scenario(
      { hang: true },
      { VERIFY_TIMEOUT_SECONDS: "3", MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS: "0.3" },
    );
    const seconds = assertFailedAt(run, "upload");
    assert.match(
      run.stdout,
      /^FAIL upload: no answer from e2 at s3\.test-region\.e2\.test \(TIMEOUT: no answer within 0\.3s\)$/m,
    );
    assert.match(run.stdout, /^FAIL cleanup: no answer from e2 /m);
    // Retried until the 3 s deadline (no answer may come later), then three bounded cleanup tries with
    // short pauses. Counted rather than timed: upload attempts no sooner than 0, 0.8 and 2.1 s and a last one
    // at the deadline, then at most three deletes. A busy machine only makes these fewer (an attempt whose
    // 0.3 s pass before its TLS handshake with the fake e2 is done never shows in its log), never more.
    assert.match(run.stdout, /^wait upload: no answer from e2 /m, "the upload was not retried");
    assert.ok(seconds >= 3, `ran ${seconds}s`);
    const logged = e2.log.map((r) => r.method);
    assert.ok(logged.filter((m) => m === "PUT").length <= 4, logged.join(" "));
    assert.ok(logged.filter((m) => m === "DELETE").length <= 3, logged.join(" "));
    assert.ok(
      logged.every((m) => m === "PUT" || m === "DELETE"),
      logged.join(" "),
    );
    assert.equal(media.requests.length, 0);
  });

  test("503 SlowDown from e2 is retried, and the check passes once e2 answers", async () => {
    const { run, e2 } = await scenario({ slowDownFirst: 2 }, { VERIFY_TIMEOUT_SECONDS: PASSING_DEADLINE });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^wait upload: e2 answered HTTP 503 SlowDown \(attempt 1; next in /m);
    assert.deepEqual(verdictLines(run).slice(0, 1), ["ok   upload"]);
    // Retried upload of both probes; the unsigned checks at the endpoint (each anonymous write followed by a
    // signed read-back); Mastodon's calls; then the cleanup of all three probes.
    assert.deepEqual(
      e2.log.map((r) => `${r.method} ${r.headers["authorization"] ? "signed" : "anonymous"} ${r.status}`),
      [
        "PUT signed 503",
        "PUT signed 503",
        "PUT signed 200",
        "PUT signed 200",
        "GET anonymous 403",
        "PUT anonymous 403",
        "GET signed 200",
        "DELETE anonymous 403",
        "GET signed 200",
        "GET anonymous 403",
        // The calls Mastodon makes, with the program's key it shares: PutObject, signed read, DeleteObjects,
        // HeadObject (gone).
        "PUT signed 200",
        "GET signed 200",
        "POST signed 200",
        "HEAD signed 404",
        "DELETE signed 204",
        "DELETE signed 204",
        "DELETE signed 204",
      ],
    );
    assert.deepEqual(
      e2.log.filter((r) => !r.headers["authorization"]).map((r) => r.path.replace(/[0-9a-f]{32}/, "<token>")),
      [
        "/files",
        "/files/_probe/<token>.txt",
        "/files/_probe/<token>.txt",
        "/files/backups/_mastodon-media-probe-<token>",
      ],
    );
    assert.deepEqual([...e2.store.keys()], [], "the probe was left behind");
  });

  test("503 SlowDown to the unsigned checks at the endpoint is retried, and the check passes once e2 refuses them", async () => {
    const { run, e2 } = await scenario(
      { slowDownAnonymousFirst: 1 },
      { VERIFY_TIMEOUT_SECONDS: PASSING_DEADLINE },
    );
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /^wait e2-listing-refused: anonymous listing of https:\/\/s3\.test-region\.e2\.test\/files answered HTTP 503 \(SlowDown\) \(attempt 1; next in /m,
    );
    assert.deepEqual(verdictLines(run).slice(0, 5), [
      "ok   upload",
      "ok   e2-listing-refused",
      "ok   e2-put-refused",
      "ok   e2-delete-refused",
      "ok   e2-backups-private",
    ]);
    assert.deepEqual([...e2.store.keys()], [], "a probe was left behind");
  });
});

test("invalid inputs exit 2 naming each variable without echoing a secret", async () => {
  const run = await runCheck({
    MEDIA_HOST: "https://files.example.test/",
    E2_ENDPOINT: E2_HOST,
    S3_BUCKET: BUCKET,
    S3_REGION: REGION,
    AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
    AWS_SECRET_ACCESS_KEY: `${SECRET} trailing`,
    MASTODON_ACCESS_KEY_ID: MASTODON_KEY_ID,
    VERIFY_TIMEOUT_SECONDS: "soon",
  });
  assert.equal(run.code, 2);
  for (const name of [
    "MEDIA_HOST",
    "AWS_SECRET_ACCESS_KEY",
    "MASTODON_SECRET_ACCESS_KEY",
    "VERIFY_TIMEOUT_SECONDS",
  ]) {
    assert.match(run.stderr, new RegExp(`- ${name} `));
  }
  assert.doesNotMatch(
    run.stderr,
    /- (E2_ENDPOINT|S3_BUCKET|S3_REGION|AWS_ACCESS_KEY_ID|MASTODON_ACCESS_KEY_ID)/,
  );
  assertNothingSecretPrinted(run, [SECRET, ACCESS_KEY_ID, MASTODON_KEY_ID]);
});
