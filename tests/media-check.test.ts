// Runs the real checker (runtime/media-check.ts) as a child process, as the Command runs it, against real
// HTTPS servers on 127.0.0.1: a fake e2 that verifies every signature with @smithy/signature-v4, and a fake
// Cloudflare-fronted media host that is healthy or broken in one way per test. TLS verification stays on:
// the test CA is trusted through NODE_EXTRA_CA_CERTS only. What this cannot show: the real e2 and
// Cloudflare answers (status codes of the WAF block, e2's CNAME mapping); the fakes follow FACTS.md.
import { after, before, suite, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { resolve } from "node:path";
import { randomBytes } from "node:crypto";
import {
  makePki,
  startFakeE2,
  startFakeMediaHost,
  type MediaBehaviour,
  type TestPki,
} from "./support/fake-media-host";

const ROOT = resolve(__dirname, "..");
const MEDIA_HOST = "files.example.test";
const E2_HOST = "s3.test-region.e2.test";
const WRONG_HOST = "other.example.test";
const BUCKET = "files";
const REGION = "test-region-1";
const ACCESS_KEY_ID = "E2TESTKEYID" + randomBytes(6).toString("hex").toUpperCase();
const SECRET = "e2-test-secret-" + randomBytes(12).toString("base64url");
const MASTODON_KEY_ID = "MASTODONKEYID" + randomBytes(6).toString("hex").toUpperCase();
const MASTODON_SECRET = "mastodon-test-secret-" + randomBytes(12).toString("base64url");
/** Every secret a run may know: none of them may ever be printed. */
const SECRETS = [SECRET, ACCESS_KEY_ID, MASTODON_SECRET, MASTODON_KEY_ID];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the checker with only the given environment (plus PATH), killed if it outlives `limitMs`. */
function runCheck(
  env: Record<string, string>,
  limitMs = 12_000,
  onStdout?: (soFar: string, child: ChildProcess) => void,
): Promise<Run> {
  const started = Date.now();
  return new Promise((done, fail) => {
    // Not process.env: the test runner's NODE_TEST_CONTEXT would turn the child into a test process.
    const child = spawn(process.execPath, ["--import", "tsx", "runtime/media-check.ts"], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(killer);
      done({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

let pki: TestPki;
before(() => {
  pki = makePki([MEDIA_HOST, E2_HOST, WRONG_HOST]);
});
after(() => pki.dispose());

interface Scenario {
  behaviour?: MediaBehaviour;
  /** The media host presents a certificate for another name. */
  wrongCert?: boolean;
  /** The secret the fake e2 holds, when it should differ from the checker's. */
  e2Secret?: string;
  /** Give E2_ENDPOINT as <name>:<port> (the real port), instead of a bare name on 443 mapped by CONNECT_TO. */
  e2WithPort?: boolean;
  /** Give the checker Mastodon's key too; e2 knows it as described (default: a read-write key). */
  mastodon?: { readOnly?: boolean; e2Secret?: string };
  env?: Record<string, string>;
  onStdout?: (soFar: string, child: ChildProcess) => void;
}

/** Starts the fakes, runs the checker against them, stops them; returns the run and what the fakes saw. */
async function scenario(s: Scenario) {
  const e2 = await startFakeE2({
    ...pki.leaf(E2_HOST),
    host: (port) => (s.e2WithPort ? `${E2_HOST}:${port}` : E2_HOST),
    region: REGION,
    keys: [
      { accessKeyId: ACCESS_KEY_ID, secretAccessKey: s.e2Secret ?? SECRET },
      ...(s.mastodon
        ? [
            {
              accessKeyId: MASTODON_KEY_ID,
              secretAccessKey: s.mastodon.e2Secret ?? MASTODON_SECRET,
              readOnly: s.mastodon.readOnly,
            },
          ]
        : []),
    ],
  });
  const media = await startFakeMediaHost({
    ...pki.leaf(s.wrongCert ? WRONG_HOST : MEDIA_HOST),
    host: MEDIA_HOST,
    bucket: BUCKET,
    store: e2.store,
    behaviour: s.behaviour,
  });
  const e2Endpoint = s.e2WithPort ? `${E2_HOST}:${e2.port}` : E2_HOST;
  const connectTo = `${E2_HOST}=127.0.0.1:${e2.port},${MEDIA_HOST}=127.0.0.1:${media.port}`;
  try {
    const run = await runCheck(
      {
        NODE_EXTRA_CA_CERTS: pki.caFile,
        MEDIA_HOST,
        E2_ENDPOINT: e2Endpoint,
        S3_BUCKET: BUCKET,
        S3_REGION: REGION,
        AWS_ACCESS_KEY_ID: ACCESS_KEY_ID,
        AWS_SECRET_ACCESS_KEY: SECRET,
        ...(s.mastodon
          ? { MASTODON_ACCESS_KEY_ID: MASTODON_KEY_ID, MASTODON_SECRET_ACCESS_KEY: MASTODON_SECRET }
          : {}),
        VERIFY_TIMEOUT_SECONDS: "1",
        MEDIA_CHECK_CONNECT_TO: connectTo,
        ...s.env,
      },
      12_000,
      s.onStdout,
    );
    assertNothingSecretPrinted(run, e2.signaturesSeen);
    return { run, e2, media };
  } finally {
    await Promise.all([e2.close(), media.close()]);
  }
}

function assertNothingSecretPrinted(run: Run, signatures: string[]): void {
  const printed = run.stdout + run.stderr;
  for (const secret of SECRETS) assert.ok(!printed.includes(secret), "a key or secret was printed");
  for (const sig of signatures) assert.ok(!printed.includes(sig), "a request signature was printed");
}

/** `/files/_probe/x.txt?x-id=PutObject` → `_probe/x.txt`. */
function keyOf(e2Path: string): string {
  return decodeURIComponent(e2Path.split("?")[0].slice(`/${BUCKET}/`.length));
}

/** The key of the first object the checker wrote with the program's key. */
function probeKeyOf(e2: {
  log: { method: string; path: string; headers: Record<string, unknown> }[];
}): string {
  const put = e2.log.find(
    (r) => r.method === "PUT" && String(r.headers["authorization"]).includes(ACCESS_KEY_ID),
  );
  assert.ok(put, "no upload with the program's key");
  return keyOf(put.path);
}

/** Fails unless the run failed at `check`; returns the seconds the script says it ran (its own clock). */
function assertFailedAt(run: Run, check: string): number {
  assert.notEqual(run.code, 0, `expected a failure:\n${run.stdout}${run.stderr}`);
  const m = new RegExp(`media check failed at ${check} after (\\d+\\.\\d)s: `).exec(run.stderr);
  assert.ok(m, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`^FAIL ${check}: `, "m"));
  return Number(m[1]);
}

/** Nothing is left under _probe/, and the last thing the checker did at e2 was deleting a probe. */
function assertProbeGone(e2: {
  store: Map<string, unknown>;
  log: { method: string; path: string; status: number }[];
}): void {
  const left = [...e2.store.keys()].filter((k) => k.startsWith(`${BUCKET}/_probe/`));
  assert.deepEqual(left, [], "a probe object was left in the bucket");
  const last = e2.log.at(-1);
  assert.deepEqual([last?.method, last?.status], ["DELETE", 204]);
  assert.match(keyOf(last!.path), /^_probe\/[0-9a-f]{32}(-mastodon)?\.txt$/);
}

suite("media-check script against fake e2 and media host on loopback", { concurrency: 4 }, () => {
  test("healthy media host passes every check, exits 0 and deletes the probe", async () => {
    const { run, e2, media } = await scenario({});
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lines = run.stdout.split("\n").filter((l) => /^(ok|FAIL)/.test(l));
    assert.deepEqual(lines, [
      "ok   upload",
      "ok   tls",
      "ok   get",
      "ok   cf-ray",
      "ok   cors",
      "ok   listing-refused",
      "ok   anonymous-put-refused",
      "ok   anonymous-delete-refused",
      "ok   cleanup",
    ]);
    assert.equal(run.stderr, "");
    assertProbeGone(e2);
    const key = probeKeyOf(e2);
    assert.deepEqual(
      media.requests.map((r) => `${r.method} ${r.path} ${r.host}`),
      [
        `GET /${key} ${MEDIA_HOST}`,
        `GET / ${MEDIA_HOST}`,
        `PUT /${key} ${MEDIA_HOST}`,
        `DELETE /${key} ${MEDIA_HOST}`,
      ],
    );
    // Without Mastodon's own key, its checks are skipped and say so; e2 saw only the program's key.
    assert.match(run.stdout, /^skip mastodon-write, mastodon-read, mastodon-served, mastodon-delete: /m);
    assert.deepEqual(
      e2.log.map((r) => `${r.method} ${keyOf(r.path)} ${r.status}`),
      [`PUT ${key} 200`, `DELETE ${key} 204`],
    );
  });

  test("probe is uploaded signed as text with Cache-Control no-store, served back as is, under a new _probe/ key and token per run", async () => {
    const runs = [await scenario({}), await scenario({})];
    const probes = runs.map(({ run, e2, media }) => {
      assert.equal(run.code, 0, run.stdout + run.stderr);
      const put = e2.log[0];
      assert.deepEqual([put.method, put.status, put.rejection], ["PUT", 200, undefined]);
      assert.match(keyOf(put.path), /^_probe\/[0-9a-f]{32}\.txt$/);
      assert.equal(put.headers["content-type"], "text/plain; charset=utf-8");
      assert.equal(put.headers["cache-control"], "no-store");
      assert.match(
        put.body,
        new RegExp(`^mastodon-media check probe for ${MEDIA_HOST}\ntoken [0-9a-f]{32}\n$`),
      );
      assert.equal(media.requests[0].status, 200);
      return { body: put.body, key: keyOf(put.path) };
    });
    assert.notEqual(probes[0].body, probes[1].body);
    assert.notEqual(probes[0].key, probes[1].key);
  });

  test("certificate for another name fails at tls and still deletes the probe", async () => {
    const { run, e2, media } = await scenario({ wrongCert: true });
    assertFailedAt(run, "tls");
    assert.match(
      run.stdout,
      /FAIL tls: certificate not valid for the media host: ERR_TLS_CERT_ALTNAME_INVALID/,
    );
    assert.equal(media.requests.length, 0, "no HTTP request may follow a failed handshake");
    assertProbeGone(e2);
  });

  test("listable bucket fails at listing-refused without retrying", async () => {
    const { run, e2, media } = await scenario({
      behaviour: { listable: true },
      env: { VERIFY_TIMEOUT_SECONDS: "30" },
    });
    assertFailedAt(run, "listing-refused");
    assert.match(run.stdout, /ListBucketResult/);
    assert.equal(media.requests.filter((r) => r.path === "/").length, 1);
    assertProbeGone(e2);
  });

  test("accepted anonymous PUT fails at anonymous-put-refused without retrying", async () => {
    const { run, e2, media } = await scenario({
      behaviour: { anonymousPut: true },
      env: { VERIFY_TIMEOUT_SECONDS: "30" },
    });
    assertFailedAt(run, "anonymous-put-refused");
    assert.match(run.stdout, /writable by anyone/);
    assert.equal(media.requests.filter((r) => r.method === "PUT").length, 1);
    assertProbeGone(e2);
  });

  test("accepted anonymous DELETE fails at anonymous-delete-refused without retrying", async () => {
    const { run, e2, media } = await scenario({
      behaviour: { anonymousDelete: true },
      env: { VERIFY_TIMEOUT_SECONDS: "30" },
    });
    assertFailedAt(run, "anonymous-delete-refused");
    assert.equal(media.requests.filter((r) => r.method === "DELETE").length, 1);
    assertProbeGone(e2);
  });

  test("missing Access-Control-Allow-Origin fails at cors after the time-out", async () => {
    const { run, e2 } = await scenario({ behaviour: { noCors: true } });
    // Retryable: it keeps trying until the deadline (load can only make that later, never earlier).
    assert.ok(assertFailedAt(run, "cors") >= 1.0, "gave up before the time-out");
    assertProbeGone(e2);
  });

  test("missing cf-ray fails at cf-ray after the time-out", async () => {
    const { run, e2 } = await scenario({ behaviour: { noCfRay: true } });
    assert.ok(assertFailedAt(run, "cf-ray") >= 1.0, "gave up before the time-out");
    assert.match(run.stdout, /did not come through Cloudflare/);
    assertProbeGone(e2);
  });

  test("5xx answers for the first requests, then healthy, passes within the time-out", async () => {
    const { run, e2, media } = await scenario({
      behaviour: { failFirst: 5 },
      env: { VERIFY_TIMEOUT_SECONDS: "10" },
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^wait get: expected HTTP 200 for the probe, got HTTP 502/m);
    assert.ok(media.requests.length > 4, "the healthy pass must come after retries");
    assertProbeGone(e2);
  });

  test("signature rejected by e2 fails at upload naming e2SecretAccessKey and e2's error code only, and never reaches the edge", async () => {
    const { run, e2, media } = await scenario({
      e2Secret: "a-different-secret",
      env: { VERIFY_TIMEOUT_SECONDS: "30" },
    });
    assertFailedAt(run, "upload");
    assert.match(
      run.stdout,
      /^FAIL upload: e2AccessKeyId cannot write to bucket files: SignatureDoesNotMatch — e2SecretAccessKey is not the secret of e2AccessKeyId/m,
    );
    assert.doesNotMatch(run.stdout + run.stderr, /StringToSign|SignatureProvided/);
    assert.equal(e2.log[0].rejection, "SignatureDoesNotMatch");
    assert.equal(e2.log.filter((r) => r.method === "PUT").length, 1, "a rejected key must not be retried");
    assert.equal(media.requests.length, 0);
    assert.ok(e2.signaturesSeen.length >= 2, "upload and cleanup signatures were both checked");
  });

  test("never-healthy media host fails at get after about VERIFY_TIMEOUT_SECONDS", async () => {
    const { run, e2, media } = await scenario({
      behaviour: { alwaysFail: true },
      env: { VERIFY_TIMEOUT_SECONDS: "2" },
    });
    const seconds = assertFailedAt(run, "get");
    // Attempts at about 0, 0.5 and 1.5 s, the last one cut to the 2 s deadline; then the cleanup.
    assert.ok(seconds >= 2.0 && seconds < 6, `gave up after ${seconds}s for a 2 s time-out`);
    const gets = media.requests.filter((r) => r.path === `/${probeKeyOf(e2)}` && r.method === "GET");
    assert.ok(gets.length >= 2, `only ${gets.length} attempts`);
    assertProbeGone(e2);
  });

  test("media host that never answers fails at get with a request time-out", async () => {
    const { run, e2 } = await scenario({
      behaviour: { hang: true },
      env: { VERIFY_TIMEOUT_SECONDS: "1", MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS: "0.3" },
    });
    const seconds = assertFailedAt(run, "get");
    assert.match(run.stdout, /FAIL get: TIMEOUT: no answer within 0.3s/);
    // One 0.3 s wait per attempt (the other requests are skipped), attempts until the 1 s deadline.
    assert.ok(seconds < 4, `gave up after ${seconds}s`);
    assertProbeGone(e2);
  });

  test("SIGTERM while waiting to retry stops at once, still deletes the probe, and exits non-zero", async () => {
    let signalled = false;
    const { run, e2 } = await scenario({
      behaviour: { alwaysFail: true },
      env: { VERIFY_TIMEOUT_SECONDS: "60" },
      onStdout: (soFar, child) => {
        if (!signalled && soFar.includes("\nwait get: ")) {
          signalled = true;
          child.kill("SIGTERM");
        }
      },
    });
    assert.ok(signalled, run.stdout);
    const seconds = assertFailedAt(run, "get");
    assert.ok(seconds < 5, `ran ${seconds}s of a 60 s time-out after SIGTERM`);
    assert.match(run.stderr, /media check: SIGTERM, cleaning up/);
    assert.match(run.stderr, /\(cancelled\)$/m);
    assertProbeGone(e2);
  });

  test("e2 endpoint given as host:port is signed and sent with the port in Host", async () => {
    const { run, e2 } = await scenario({ e2WithPort: true });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.equal(e2.log[0].rejection, undefined);
    assertProbeGone(e2);
  });

  test("invalid inputs exit 2 naming each variable without echoing the secret", async () => {
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
      /E2_ENDPOINT|S3_BUCKET|S3_REGION|- AWS_ACCESS_KEY_ID|- MASTODON_ACCESS_KEY_ID/,
    );
    assertNothingSecretPrinted(run, []);
  });

  test("with Mastodon's own key: it writes, reads back signed, is served through the media host and deletes its probe", async () => {
    const { run, e2, media } = await scenario({ mastodon: {} });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const lines = run.stdout.split("\n").filter((l) => /^(ok|FAIL|skip)/.test(l));
    assert.deepEqual(lines.slice(-5), [
      "ok   mastodon-write",
      "ok   mastodon-read",
      "ok   mastodon-served",
      "ok   mastodon-delete",
      "ok   cleanup",
    ]);
    const byMastodon = e2.log.filter((r) =>
      String(r.headers["authorization"]).includes(`=${MASTODON_KEY_ID}/`),
    );
    const key = `${probeKeyOf(e2).replace(/\.txt$/, "")}-mastodon.txt`;
    assert.deepEqual(
      byMastodon.map((r) => `${r.method} ${keyOf(r.path)} ${r.status}`),
      [`PUT ${key} 200`, `GET ${key} 200`, `DELETE ${key} 204`],
    );
    assert.ok(media.requests.some((r) => r.method === "GET" && r.path === `/${key}` && r.status === 200));
    assertProbeGone(e2);
  });

  test("a Mastodon key without write access fails at mastodon-write naming mastodonAccessKeyId and AccessDenied, and both probes are deleted", async () => {
    const { run, e2 } = await scenario({
      mastodon: { readOnly: true },
      env: { VERIFY_TIMEOUT_SECONDS: "30" },
    });
    assertFailedAt(run, "mastodon-write");
    assert.match(
      run.stdout,
      /^FAIL mastodon-write: mastodonAccessKeyId cannot write to bucket files: AccessDenied \(Access Denied\) — give the key read and write on this bucket$/m,
    );
    assert.match(run.stderr, /\(not reached: mastodon-read, mastodon-served, mastodon-delete\)/);
    // Refused for good: tried once, not until the 30 s deadline.
    assert.equal(e2.log.filter((r) => r.method === "PUT" && r.rejection === "AccessDenied").length, 1);
    assertProbeGone(e2);
  });

  test("a wrong Mastodon secret fails at mastodon-write naming mastodonSecretAccessKey", async () => {
    const { run, e2 } = await scenario({ mastodon: { e2Secret: "another-secret" } });
    assertFailedAt(run, "mastodon-write");
    assert.match(
      run.stdout,
      /^FAIL mastodon-write: mastodonAccessKeyId cannot write to bucket files: SignatureDoesNotMatch — mastodonSecretAccessKey is not the secret of mastodonAccessKeyId/m,
    );
    assertProbeGone(e2);
  });
});
