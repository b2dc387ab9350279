import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CHECKS,
  InputError,
  backoffDelayMs,
  connectTarget,
  firstFailure,
  formatVerdict,
  judgeAnonymousWrite,
  judgeCfRay,
  judgeCors,
  judgeEdge,
  judgeGet,
  judgeListing,
  judgeS3,
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

test("probe keys are new per token, always under _probe/, one for each key", () => {
  const a = probeKeys("0123456789abcdef0123456789abcdef");
  assert.deepEqual(a, {
    program: "_probe/0123456789abcdef0123456789abcdef.txt",
    mastodon: "_probe/0123456789abcdef0123456789abcdef-mastodon.txt",
  });
  assert.notEqual(probeKeys("fedcba9876543210fedcba9876543210").program, a.program);
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

test("listing refused by any 4xx passes", () => {
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

test("anonymous writes pass when refused with 403 or 405 and fail for good on 2xx", () => {
  for (const check of ["anonymous-put-refused", "anonymous-delete-refused"] as const) {
    assert.equal(judgeAnonymousWrite(check, answer(403)).ok, true);
    assert.equal(judgeAnonymousWrite(check, answer(405)).ok, true);
    for (const status of [200, 204]) {
      const v = judgeAnonymousWrite(check, answer(status));
      assert.deepEqual([v.ok, v.retryable], [false, false], `${check} ${status}`);
      assert.match(v.reason!, /writable by anyone/);
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
  assert.equal(judgeS3("mastodon-delete", MASTODON_KEY, "delete", target, undefined).ok, true);
});

test("another refusal keeps e2's code and a message that says something", () => {
  const v = judgeS3("mastodon-delete", MASTODON_KEY, "delete", target, {
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
    CHECKS.filter((c) => c !== "upload" && c !== "cleanup" && !c.startsWith("mastodon-")),
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
