import { test } from "node:test";
import assert from "node:assert/strict";
import { isPubliclyReadable, PRIVATE_PREFIXES } from "../components/media-paths";
import {
  BACKUPS_PROBE_PREFIX,
  CHECKS,
  EDGE_CHECKS,
  ENDPOINT_CHECKS,
  InputError,
  backoffDelayMs,
  connectTarget,
  firstFailure,
  formatVerdict,
  judgeAnonymousWrite,
  judgeCfRay,
  judgeCors,
  judgeEdge,
  judgeEndpoint,
  judgeEndpointBackups,
  judgeEndpointListing,
  judgeEndpointWrite,
  judgeGet,
  judgeListing,
  judgeS3,
  judgeMastodonCall,
  judgeBatchDeleted,
  multipartProbeShape,
  judgeSignedRead,
  MASTODON_KEY,
  PROGRAM_KEY,
  probeKeys,
  nextWaitMs,
  parseConnectTo,
  parseInputs,
  redactor,
  s3ErrorSummary,
  type HttpAnswer,
} from "../runtime/media-checks";

const SECRET = "very-secret-key/with+chars";
const valid = {
  MEDIA_HOST: "files.example.social",
  E2_ENDPOINT: "s3.eu-central-2.idrivee2.com",
  S3_BUCKET: "files",
  S3_REGION: "eu-central-2",
  AWS_ACCESS_KEY_ID: "KEYID",
  AWS_SECRET_ACCESS_KEY: SECRET,
};

function problemsOf(env: Record<string, string | undefined>): string[] {
  try {
    parseInputs(env);
  } catch (e) {
    assert.ok(e instanceof InputError);
    return e.problems;
  }
  assert.fail("expected an InputError");
}

const answer = (status: number, headers: HttpAnswer["headers"] = {}, body = ""): HttpAnswer => ({
  status,
  headers,
  body,
});

test("valid inputs parse with a 300 s deadline, 10 s requests and port 443", () => {
  const i = parseInputs(valid);
  assert.equal(i.timeoutSeconds, 300);
  assert.equal(i.requestTimeoutMs, 10_000);
  assert.deepEqual(
    [i.e2Endpoint, i.e2Host, i.e2Port],
    ["s3.eu-central-2.idrivee2.com", "s3.eu-central-2.idrivee2.com", 443],
  );
  assert.equal(i.secretAccessKey, SECRET);
});

test("E2_ENDPOINT may carry a port, kept in the endpoint used as Host", () => {
  const i = parseInputs({ ...valid, E2_ENDPOINT: "abcd.fra.idrivee2-22.com:8443" });
  assert.deepEqual(
    [i.e2Endpoint, i.e2Host, i.e2Port],
    ["abcd.fra.idrivee2-22.com:8443", "abcd.fra.idrivee2-22.com", 8443],
  );
});

test("every missing variable is reported at once, by name", () => {
  const problems = problemsOf({});
  for (const name of [
    "MEDIA_HOST",
    "E2_ENDPOINT",
    "S3_BUCKET",
    "S3_REGION",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
  ]) {
    assert.ok(problems.includes(`${name} is not set`), `${name}: ${problems.join("; ")}`);
  }
});

test("a URL where a host name belongs is rejected for MEDIA_HOST and E2_ENDPOINT", () => {
  const problems = problemsOf({
    ...valid,
    MEDIA_HOST: "https://files.example.social",
    E2_ENDPOINT: "https://s3.x.idrivee2.com/",
  });
  assert.equal(problems.length, 2);
  assert.match(problems[0], /^MEDIA_HOST must be a host name/);
  assert.match(problems[1], /^E2_ENDPOINT must be "host" or "host:port"/);
});

test("probe keys are new per token: three under _probe/, the private one under backups/, which the policy keeps private", () => {
  const a = probeKeys("0123456789abcdef0123456789abcdef");
  assert.deepEqual(a, {
    program: "_probe/0123456789abcdef0123456789abcdef.txt",
    backups: "backups/_mastodon-media-probe-0123456789abcdef0123456789abcdef",
    mastodon: "_probe/0123456789abcdef0123456789abcdef-mastodon.txt",
    multipart: "_probe/0123456789abcdef0123456789abcdef-multipart.bin",
  });
  assert.ok(a.backups.startsWith(BACKUPS_PROBE_PREFIX));
  assert.ok(PRIVATE_PREFIXES.some((p) => a.backups.startsWith(p)));
  assert.equal(isPubliclyReadable(a.backups), false);
  assert.ok(!a.backups.startsWith("backups/dumps/"), "never on one of Mastodon's own archive keys");
  const b = probeKeys("fedcba9876543210fedcba9876543210");
  assert.notEqual(b.program, a.program);
  assert.notEqual(b.backups, a.backups);
  // Only hex tokens: nothing a caller passes can climb out of the prefix.
  for (const bad of ["../../media", "", "ABC"]) assert.throws(() => probeKeys(bad), /hex/, bad);
});

test("Mastodon's key is optional, but both halves or neither", () => {
  assert.equal(parseInputs(valid).mastodonKey, undefined);
  assert.deepEqual(
    parseInputs({ ...valid, MASTODON_ACCESS_KEY_ID: "MKEY", MASTODON_SECRET_ACCESS_KEY: "m-secret" })
      .mastodonKey,
    { accessKeyId: "MKEY", secretAccessKey: "m-secret" },
  );
  assert.deepEqual(problemsOf({ ...valid, MASTODON_ACCESS_KEY_ID: "MKEY" }), [
    "MASTODON_SECRET_ACCESS_KEY is not set, but its other half is; set both or neither",
  ]);
  assert.deepEqual(problemsOf({ ...valid, MASTODON_SECRET_ACCESS_KEY: SECRET }), [
    "MASTODON_ACCESS_KEY_ID is not set, but its other half is; set both or neither",
  ]);
});

test("a bad secret key is reported without quoting it", () => {
  const problems = problemsOf({ ...valid, AWS_SECRET_ACCESS_KEY: `${SECRET} x` });
  assert.deepEqual(problems, ["AWS_SECRET_ACCESS_KEY must not contain white space"]);
});

test("VERIFY_TIMEOUT_SECONDS must be a whole number from 1 to 3600", () => {
  for (const bad of ["0", "1.5", "3601", "five", "-3"]) {
    assert.match(
      problemsOf({ ...valid, VERIFY_TIMEOUT_SECONDS: bad })[0],
      /^VERIFY_TIMEOUT_SECONDS must be a whole number/,
      bad,
    );
  }
  assert.equal(parseInputs({ ...valid, VERIFY_TIMEOUT_SECONDS: "45" }).timeoutSeconds, 45);
});

test("MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS accepts fractions for tests", () => {
  assert.equal(parseInputs({ ...valid, MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS: "0.25" }).requestTimeoutMs, 250);
});

test("connect-to maps named hosts, a bare host:port maps every other name", () => {
  const c = parseConnectTo("files.example.social=127.0.0.1:8443, 10.0.0.9:443");
  assert.deepEqual(connectTarget(c, "FILES.example.social", 443), { host: "127.0.0.1", port: 8443 });
  assert.deepEqual(connectTarget(c, "s3.x.idrivee2.com", 443), { host: "10.0.0.9", port: 443 });
  assert.deepEqual(connectTarget(parseConnectTo(undefined), "s3.x.idrivee2.com", 8443), {
    host: "s3.x.idrivee2.com",
    port: 8443,
  });
});

test("malformed connect-to entries are rejected naming the variable", () => {
  for (const bad of ["127.0.0.1", "a=127.0.0.1:99999", "=127.0.0.1:1"]) {
    assert.throws(() => parseConnectTo(bad), /^Error: MEDIA_CHECK_CONNECT_TO: /, bad);
  }
});

test("back-off doubles from 0.5 s and is capped at 15 s", () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 20].map((n) => backoffDelayMs(n)),
    [500, 1000, 2000, 4000, 8000, 15000, 15000, 15000],
  );
});

test("the last wait is cut to the deadline and none follows it", () => {
  assert.equal(nextWaitMs(5, 10_000, 12_000), 2000);
  assert.equal(nextWaitMs(1, 10_000, 12_000), 500);
  assert.equal(nextWaitMs(1, 12_000, 12_000), undefined);
});

test("through the edge, a listing refused by any 4xx passes (the edge's own block answers 403)", () => {
  for (const status of [401, 403, 404, 405])
    assert.equal(judgeListing(answer(status)).ok, true, String(status));
});

test("a ListBucketResult on / fails for good; another 2xx or a 5xx may still settle", () => {
  const listed = judgeListing(
    answer(200, {}, '<?xml version="1.0"?><ListBucketResult xmlns="x"><Name>files</Name></ListBucketResult>'),
  );
  assert.deepEqual([listed.ok, listed.retryable], [false, false]);
  const parked = judgeListing(answer(200, {}, "<html>parked domain</html>"));
  assert.deepEqual([parked.ok, parked.retryable], [false, true]);
  assert.deepEqual([judgeListing(answer(502)).ok, judgeListing(answer(502)).retryable], [false, true]);
});

test("through the edge, anonymous writes pass when refused with 403 or 405 and fail for good on 2xx", () => {
  for (const check of ["edge-put-refused", "edge-delete-refused"] as const) {
    assert.equal(judgeAnonymousWrite(check, answer(403)).ok, true);
    assert.equal(judgeAnonymousWrite(check, answer(405)).ok, true);
    for (const status of [200, 204]) {
      const v = judgeAnonymousWrite(check, answer(status));
      assert.deepEqual([v.ok, v.retryable], [false, false], `${check} ${status}`);
      assert.match(v.reason!, /accepted \(HTTP 20\d\): anyone can write there/);
    }
    assert.deepEqual(
      [judgeAnonymousWrite(check, answer(503)).ok, judgeAnonymousWrite(check, answer(503)).retryable],
      [false, true],
    );
  }
});

test("GET passes only on 200 with exactly the probe's bytes", () => {
  assert.equal(judgeGet(answer(200, {}, "probe\n"), "probe\n").ok, true);
  assert.match(judgeGet(answer(200, {}, "old probe\n"), "probe\n").reason!, /not the probe just uploaded/);
  assert.match(
    judgeGet(answer(404, {}, "<Error><Code>NoSuchKey</Code></Error>"), "probe\n").reason!,
    /got HTTP 404 \(NoSuchKey\)/,
  );
});

test("cf-ray and CORS checks look for their headers, in any form node gives them", () => {
  assert.equal(judgeCfRay(answer(200, { "cf-ray": "8f00-FRA" })).ok, true);
  assert.equal(judgeCfRay(answer(200, { "cf-ray": " " })).ok, false);
  assert.equal(judgeCors(answer(200, { "access-control-allow-origin": ["*"] })).ok, true);
  assert.equal(judgeCors(answer(200, {})).ok, false);
});

const target = { bucket: "files", endpoint: "s3.eu-central-2.idrivee2.com" };

test("a key without write access fails for good, naming the setting, the bucket and e2's code", () => {
  const v = judgeS3("mastodon-write", MASTODON_KEY, "write", target, {
    status: 403,
    code: "AccessDenied",
    message: "",
  });
  assert.deepEqual([v.ok, v.retryable], [false, false]);
  assert.equal(
    v.reason,
    "mastodonAccessKeyId cannot write to bucket files: AccessDenied — give the key read and write on this bucket",
  );
});

test("an unknown key ID, a wrong secret and a missing bucket each say what to change", () => {
  const judge = (code: string) =>
    judgeS3("upload", PROGRAM_KEY, "write", target, {
      status: code === "NoSuchBucket" ? 404 : 403,
      code,
      message: "",
    });
  assert.match(
    judge("InvalidAccessKeyId").reason!,
    /^e2AccessKeyId cannot write to bucket files: InvalidAccessKeyId — e2 at s3\.eu-central-2\.idrivee2\.com does not know this key ID/,
  );
  assert.match(
    judge("SignatureDoesNotMatch").reason!,
    /SignatureDoesNotMatch — e2SecretAccessKey is not the secret of e2AccessKeyId/,
  );
  assert.match(
    judge("NoSuchBucket").reason!,
    /NoSuchBucket — e2 at s3\.eu-central-2\.idrivee2\.com has no bucket files/,
  );
  for (const code of ["InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket"])
    assert.equal(judge(code).retryable, false);
});

test("5xx, 429 and calls without an answer are retried; success passes", () => {
  assert.equal(
    judgeS3("cleanup", PROGRAM_KEY, "delete", target, { status: 503, code: "SlowDown", message: "" })
      .retryable,
    true,
  );
  assert.equal(
    judgeS3("cleanup", PROGRAM_KEY, "delete", target, { status: 429, message: "" }).retryable,
    true,
  );
  const noAnswer = judgeS3("upload", PROGRAM_KEY, "write", target, {
    code: "ECONNREFUSED",
    message: "connect ECONNREFUSED",
  });
  assert.deepEqual(
    [noAnswer.retryable, noAnswer.reason],
    [true, "no answer from e2 at s3.eu-central-2.idrivee2.com (ECONNREFUSED: connect ECONNREFUSED)"],
  );
  assert.equal(judgeS3("mastodon-batch-delete", MASTODON_KEY, "delete", target, undefined).ok, true);
});

test("another refusal keeps e2's code and a message that says something", () => {
  const v = judgeS3("mastodon-batch-delete", MASTODON_KEY, "delete", target, {
    status: 400,
    code: "InvalidArgument",
    message: "bad header",
  });
  assert.equal(
    v.reason,
    "mastodonAccessKeyId cannot delete from bucket files: HTTP 400 InvalidArgument (bad header)",
  );
});

test("a signed read passes only with the bytes just written", () => {
  assert.equal(
    judgeSignedRead("mastodon-read", MASTODON_KEY, target, { body: "probe\n" }, "probe\n").ok,
    true,
  );
  const other = judgeSignedRead("mastodon-read", MASTODON_KEY, target, { body: "old\n" }, "probe\n");
  assert.match(other.reason!, /^mastodonAccessKeyId read 4 bytes from bucket files that are not the probe/);
  const refused = judgeSignedRead(
    "mastodon-read",
    MASTODON_KEY,
    target,
    { status: 403, code: "AccessDenied", message: "" },
    "probe\n",
  );
  assert.match(refused.reason!, /^mastodonAccessKeyId cannot read from bucket files: AccessDenied/);
});

test("only Code and Message are read from an S3 error body, never the string to sign", () => {
  const body =
    "<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature\nwe calculated</Message>" +
    "<StringToSign>AWS4-HMAC-SHA256 secret-ish</StringToSign><SignatureProvided>abc123</SignatureProvided></Error>";
  assert.equal(s3ErrorSummary(body), "SignatureDoesNotMatch: The request signature we calculated");
  assert.equal(s3ErrorSummary("<html>502</html>"), undefined);
});

test("a failed handshake yields only the tls verdict; otherwise every edge check in order", () => {
  assert.deepEqual(
    judgeEdge({ tlsError: { code: "ERR_TLS_CERT_ALTNAME_INVALID", message: "bad name" } }, "x").map(
      (v) => v.check,
    ),
    ["tls"],
  );
  const healthy = answer(200, { "cf-ray": "1-FRA", "access-control-allow-origin": "*" }, "x");
  const verdicts = judgeEdge({ get: healthy, listing: answer(403), put: answer(403), del: answer(405) }, "x");
  assert.deepEqual(
    verdicts.map((v) => v.check),
    ["tls", "get", "cf-ray", "cors", "edge-listing-refused", "edge-put-refused", "edge-delete-refused"],
  );
  assert.deepEqual(
    verdicts.map((v) => v.check),
    EDGE_CHECKS,
  );
  assert.equal(firstFailure(verdicts), undefined);
});

test("a request error becomes a retryable failure of that check", () => {
  const err = Object.assign(new Error("no answer within 10s"), { code: "TIMEOUT" });
  const verdicts = judgeEdge({ get: err, listing: answer(403), put: answer(403), del: answer(403) }, "x");
  assert.deepEqual(firstFailure(verdicts), {
    check: "get",
    ok: false,
    reason: "TIMEOUT: no answer within 10s",
    retryable: true,
  });
});

test("requests skipped after an unanswered GET fail as not attempted, retryable", () => {
  const err = Object.assign(new Error("socket hang up"), { code: "ECONNRESET" });
  const skipped = judgeEdge({ get: err }, "x").filter((v) => v.check.endsWith("-refused"));
  assert.equal(skipped.length, 3);
  for (const v of skipped)
    assert.deepEqual(
      [v.ok, v.retryable, v.reason],
      [false, true, "not attempted: the probe GET got no answer"],
    );
});

test("verdict lines read ok / FAIL with the reason", () => {
  assert.equal(formatVerdict({ check: "cors", ok: true, retryable: false }), "ok   cors");
  assert.equal(
    formatVerdict({ check: "cors", ok: false, reason: "no header", retryable: true }),
    "FAIL cors: no header",
  );
});

test("the redactor removes every registered value, including ones added later", () => {
  const values = new Set([SECRET]);
  const redact = redactor(() => values);
  values.add("deadbeefsignature");
  assert.equal(redact(`a ${SECRET} b deadbeefsignature c`), "a [redacted] b [redacted] c");
});

// ---- The bucket itself at the e2 endpoint ----

const T = { endpoint: "s3.eu-central-2.idrivee2.com", bucket: "files" };
const PROBE = "probe body\n";
const BACKUPS_KEY = "backups/_mastodon-media-probe-0123456789abcdef";
const xmlError = (code: string): string => `<Error><Code>${code}</Code><Message></Message></Error>`;

test("the endpoint checks run after upload and before the edge, in this order", () => {
  assert.deepEqual(ENDPOINT_CHECKS, [
    "e2-listing-refused",
    "e2-put-refused",
    "e2-delete-refused",
    "e2-backups-private",
  ]);
  assert.ok(CHECKS.indexOf("upload") < CHECKS.indexOf("e2-listing-refused"));
  assert.ok(CHECKS.indexOf("e2-backups-private") < CHECKS.indexOf("tls"));
});

test("endpoint listing: 403 (and 405/501, not carried out) passes; a 2xx fails for good naming the console setting", () => {
  for (const status of [403, 405, 501]) assert.equal(judgeEndpointListing(answer(status), T).ok, true);
  const listed = judgeEndpointListing(
    answer(200, {}, '<ListBucketResult xmlns="x"><Name>files</Name></ListBucketResult>'),
    T,
  );
  assert.deepEqual([listed.ok, listed.retryable], [false, false]);
  assert.match(
    listed.reason!,
    /^anonymous listing of https:\/\/s3\.eu-central-2\.idrivee2\.com\/files answered HTTP 200 with the object list: anyone can list the bucket; make the bucket private in the e2 console/,
  );
});

test("endpoint listing: 404 cannot be judged and fails for good; other 4xx fail; 5xx and 429 are retried", () => {
  const missing = judgeEndpointListing(answer(404, {}, xmlError("NoSuchBucket")), T);
  assert.deepEqual([missing.ok, missing.retryable], [false, false]);
  assert.match(
    missing.reason!,
    /HTTP 404 \(NoSuchBucket\); expected 403 AccessDenied; e2 does not serve bucket files/,
  );
  for (const status of [400, 401, 411]) {
    const v = judgeEndpointListing(answer(status), T);
    assert.deepEqual([v.ok, v.retryable], [false, false], String(status));
  }
  for (const status of [500, 503, 429]) {
    const v = judgeEndpointListing(answer(status, {}, xmlError("SlowDown")), T);
    assert.deepEqual([v.ok, v.retryable], [false, true], String(status));
  }
});

test("endpoint PUT/DELETE: refused and the probe read back unchanged passes", () => {
  for (const check of ["e2-put-refused", "e2-delete-refused"] as const) {
    for (const status of [403, 405, 501]) {
      assert.equal(
        judgeEndpointWrite(check, answer(status), { body: PROBE }, PROBE, T).ok,
        true,
        `${check} ${status}`,
      );
    }
  }
});

test("endpoint PUT/DELETE accepted (2xx) fails for good, naming what to change", () => {
  const put = judgeEndpointWrite("e2-put-refused", answer(200), { body: "anonymous" }, PROBE, T);
  assert.deepEqual([put.ok, put.retryable], [false, false]);
  assert.match(
    put.reason!,
    /^anonymous PUT of the probe at https:\/\/s3\.eu-central-2\.idrivee2\.com\/files\/ was accepted \(HTTP 200\): anyone can write to the bucket; make the bucket private in the e2 console \(not "public"/,
  );
  const del = judgeEndpointWrite(
    "e2-delete-refused",
    answer(204),
    { status: 404, code: "NoSuchKey", message: "" },
    PROBE,
    T,
  );
  assert.deepEqual([del.ok, del.retryable], [false, false]);
  assert.match(del.reason!, /was accepted \(HTTP 204\): anyone can delete from the bucket/);
});

test("endpoint PUT/DELETE answered 403 but the probe changed or vanished fails for good", () => {
  const changed = judgeEndpointWrite("e2-put-refused", answer(403), { body: "other" }, PROBE, T);
  assert.deepEqual([changed.ok, changed.retryable], [false, false]);
  assert.match(changed.reason!, /yet the probe no longer holds what the program wrote/);
  const gone = judgeEndpointWrite(
    "e2-delete-refused",
    answer(403),
    { status: 404, code: "NoSuchKey", message: "" },
    PROBE,
    T,
  );
  assert.deepEqual([gone.ok, gone.retryable], [false, false]);
  assert.match(gone.reason!, /yet the probe is gone \(NoSuchKey\)/);
});

test("endpoint PUT/DELETE: 404 and other 4xx fail for good; 5xx or an unreadable probe (no answer) are retried", () => {
  for (const status of [400, 404, 411]) {
    const v = judgeEndpointWrite("e2-put-refused", answer(status), { body: PROBE }, PROBE, T);
    assert.deepEqual([v.ok, v.retryable], [false, false], String(status));
  }
  const slow = judgeEndpointWrite("e2-put-refused", answer(503), undefined, PROBE, T);
  assert.deepEqual([slow.ok, slow.retryable], [false, true]);
  const unread = judgeEndpointWrite(
    "e2-delete-refused",
    answer(403),
    { code: "TIMEOUT", message: "no answer" },
    PROBE,
    T,
  );
  assert.deepEqual([unread.ok, unread.retryable], [false, true]);
});

test("backups probe: only 403 passes; 200 fails for good naming the over-broad policy", () => {
  assert.equal(judgeEndpointBackups(answer(403, {}, xmlError("AccessDenied")), BACKUPS_KEY, T).ok, true);
  const open = judgeEndpointBackups(answer(200, {}, "archive"), BACKUPS_KEY, T);
  assert.deepEqual([open.ok, open.retryable], [false, false]);
  assert.match(
    open.reason!,
    /^anonymous GET of https:\/\/s3\.eu-central-2\.idrivee2\.com\/files\/backups\/_mastodon-media-probe-0123456789abcdef answered HTTP 200: anyone can download users' archives \(backups\/\); the bucket policy grants more than Mastodon's public media prefixes \(e\.g\. files\/\*\)/,
  );
  for (const status of [404, 405, 501]) {
    const v = judgeEndpointBackups(answer(status), BACKUPS_KEY, T);
    assert.deepEqual([v.ok, v.retryable], [false, false], String(status));
  }
  assert.equal(judgeEndpointBackups(answer(503), BACKUPS_KEY, T).retryable, true);
});

test("endpoint pass: all refused passes; a DELETE is judged against what the PUT left", () => {
  const ok = judgeEndpoint(
    {
      listing: answer(403),
      put: answer(403),
      afterPut: { body: PROBE },
      del: answer(403),
      afterDel: { body: PROBE },
      backups: answer(403),
    },
    PROBE,
    BACKUPS_KEY,
    T,
  );
  assert.deepEqual(
    ok.map((v) => v.check),
    ENDPOINT_CHECKS,
  );
  assert.equal(firstFailure(ok), undefined);
  const publicBucket = judgeEndpoint(
    {
      listing: answer(200, {}, "<ListBucketResult></ListBucketResult>"),
      put: answer(200),
      afterPut: { body: "anonymous" },
      del: answer(403),
      afterDel: { body: "anonymous" },
      backups: answer(403),
    },
    PROBE,
    BACKUPS_KEY,
    T,
  );
  assert.deepEqual(
    publicBucket.map((v) => `${v.check} ${v.ok}`),
    ["e2-listing-refused false", "e2-put-refused false", "e2-delete-refused true", "e2-backups-private true"],
  );
});

test("endpoint pass: a request without an answer fails retryably and the rest are not attempted", () => {
  const err = Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" });
  const v = judgeEndpoint({ listing: err }, PROBE, BACKUPS_KEY, T);
  assert.deepEqual(
    v.map((x) => [x.check, x.ok, x.retryable]),
    [
      ["e2-listing-refused", false, true],
      ["e2-put-refused", false, true],
      ["e2-delete-refused", false, true],
      ["e2-backups-private", false, true],
    ],
  );
  assert.match(v[1].reason!, /^not attempted: an earlier request to e2 got no answer$/);
});

const E2_TARGET = { bucket: "files", endpoint: "s3.eu-central-2.idrivee2.com" };

test("a DeleteObjects e2 refuses for itself names the call, e2's answer, the checksum header and that no Mastodon setting avoids it", () => {
  const v = judgeMastodonCall(
    "mastodon-batch-delete",
    MASTODON_KEY,
    "batch-delete",
    E2_TARGET,
    { call: "DeleteObjects", status: 400, code: "InvalidArgument", message: "" },
    15728640,
  );
  assert.equal(v.ok, false);
  assert.equal(v.retryable, false);
  assert.equal(
    v.reason,
    "mastodonAccessKeyId cannot batch-delete from bucket files: DeleteObjects answered HTTP 400 InvalidArgument — e2 refuses the call itself (it carries an x-amz-checksum-crc32 header, which current AWS SDKs send because the operation requires a checksum); Mastodon deletes media with DeleteObjects (app/lib/attachment_batch.rb) and no Mastodon setting avoids it (S3_BATCH_DELETE_LIMIT only sets how many keys go in one call), so media admins delete would stay readable; report it to iDrive support with this line",
  );
});

test("a multipart upload e2 refuses names the failing call and the S3_MULTIPART_THRESHOLD to raise, not S3_FORCE_SINGLE_REQUEST", () => {
  const v = judgeMastodonCall(
    "mastodon-multipart",
    PROGRAM_KEY,
    "multipart",
    E2_TARGET,
    { call: "UploadPart", status: 400, code: "XAmzContentSHA256Mismatch", message: "" },
    15728640,
  );
  assert.equal(
    v.reason,
    'e2AccessKeyId cannot upload in parts to bucket files: UploadPart answered HTTP 400 XAmzContentSHA256Mismatch — Mastodon uploads files of S3_MULTIPART_THRESHOLD (15728640 bytes) or more this way (mastodon/mastodon#30601): set S3_MULTIPART_THRESHOLD in mastodonEnvExtra above the largest file your instance accepts (e.g. "104857600", 100 MiB) so every upload is one PutObject; S3_FORCE_SINGLE_REQUEST does not help (it changes downloads only)',
  );
});

test("Mastodon's calls: a wrong secret, a 5xx and no answer are judged as for any call (the secret named; retried)", () => {
  const wrong = judgeMastodonCall(
    "mastodon-multipart",
    MASTODON_KEY,
    "multipart",
    E2_TARGET,
    { call: "CreateMultipartUpload", status: 403, code: "SignatureDoesNotMatch", message: "" },
    15728640,
  );
  assert.match(wrong.reason ?? "", /SignatureDoesNotMatch — mastodonSecretAccessKey is not the secret/);
  const busy = judgeMastodonCall(
    "mastodon-batch-delete",
    MASTODON_KEY,
    "batch-delete",
    E2_TARGET,
    { call: "DeleteObjects", status: 503, code: "SlowDown", message: "" },
    15728640,
  );
  assert.equal(busy.retryable, true);
  const silent = judgeMastodonCall(
    "mastodon-batch-delete",
    MASTODON_KEY,
    "batch-delete",
    E2_TARGET,
    { call: "DeleteObjects", code: "TIMEOUT", message: "no answer within 10s" },
    15728640,
  );
  assert.equal(silent.retryable, true);
});

test("a probe still there after DeleteObjects answered without error fails, saying deleted media would stay readable", () => {
  assert.equal(
    judgeBatchDeleted("mastodon-batch-delete", MASTODON_KEY, E2_TARGET, { size: undefined }).ok,
    true,
  );
  const v = judgeBatchDeleted("mastodon-batch-delete", MASTODON_KEY, E2_TARGET, { size: 112 });
  assert.equal(v.ok, false);
  assert.match(
    v.reason ?? "",
    /DeleteObjects answered without error, but the probe is still in bucket files \(HeadObject found 112 bytes\): media admins delete in Mastodon would stay readable/,
  );
});

test("the multipart probe is one byte above the threshold, in parts cut as Mastodon's SDK cuts them", () => {
  // Mastodon's default: 15 MiB + 1 byte, three 5 MiB parts and a last one of 1 byte.
  assert.deepEqual(multipartProbeShape(15 * 1024 * 1024), { size: 15728641, partSize: 5242880 });
  // Past 10000 × 5 MiB the part grows so that there are at most 10000 parts.
  assert.deepEqual(multipartProbeShape(60_000_000_000), { size: 60_000_000_001, partSize: 6_000_001 });
});
