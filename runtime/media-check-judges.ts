// The media check's verdicts: how each answer (from the e2 endpoint, the media host, or the S3 client) is
// judged, with reasons built from status codes, header names and S3 error codes, never from a secret.
import type { CheckName, HttpAnswer, Verdict } from "./media-checks";

function header(answer: HttpAnswer, name: string): string | undefined {
  const v = answer.headers[name];
  const s = Array.isArray(v) ? v.join(", ") : v;
  return s === undefined || s.trim() === "" ? undefined : s;
}

/** `Code: Message` from an S3 XML error body, else undefined. Nothing else of the body is kept. */
export function s3ErrorSummary(body: string): string | undefined {
  const code = /<Code>([^<]{1,100})<\/Code>/.exec(body)?.[1];
  if (!code) return undefined;
  const message = /<Message>([^<]{1,200})<\/Message>/.exec(body)?.[1];
  return clean(message ? `${code}: ${message}` : code);
}

/** One printable line, bounded: no control characters, at most 800 characters (room for the advice). */
function clean(text: string): string {
  const flat = text.replace(/\p{Cc}+/gu, " ").trim();
  return flat.length > 800 ? `${flat.slice(0, 800)}…` : flat;
}

function statusText(answer: HttpAnswer): string {
  const s3 = s3ErrorSummary(answer.body);
  return s3 ? `HTTP ${answer.status} (${s3})` : `HTTP ${answer.status}`;
}

const pass = (check: CheckName): Verdict => ({ check, ok: true, retryable: false });
const fail = (check: CheckName, reason: string, retryable: boolean): Verdict => ({
  check,
  ok: false,
  reason: clean(reason),
  retryable,
});

/** A request that got no HTTP answer (refused, reset, timed out, TLS error): worth retrying. */
export function judgeRequestError(check: CheckName, error: { code?: string; message: string }): Verdict {
  return fail(check, error.code ? `${error.code}: ${error.message}` : error.message, true);
}

/**
 * What went wrong with one S3 call made through the SDK: the HTTP status and S3 error code when e2 answered,
 * only a code and message when it did not (refused, reset, timed out). Never the request or response body:
 * e2's error bodies echo the string to sign and the signature.
 */
export interface S3Failure {
  /** The S3 operation that failed (PutObject, DeleteObjects, UploadPart, …), when known. */
  call?: string;
  status?: number;
  code?: string;
  message: string;
}

/** The stack config settings a key comes from: failures name them, never the key itself. */
export interface KeySettings {
  keyId: string;
  secret: string;
}
export const PROGRAM_KEY: KeySettings = { keyId: "e2AccessKeyId", secret: "e2SecretAccessKey" };
export const MASTODON_KEY: KeySettings = { keyId: "mastodonAccessKeyId", secret: "mastodonSecretAccessKey" };

export type S3Action = "write" | "read" | "delete";
const ACTION_TEXT: Record<S3Action, string> = {
  write: "write to",
  read: "read from",
  delete: "delete from",
};

/** Where the S3 call was made, for the failure text. */
export interface S3Target {
  bucket: string;
  endpoint: string;
}

/** `Code` or `Code (message)`, leaving out the SDK's placeholder messages and RGW's empty ones. */
function s3Code(f: S3Failure): string {
  const code = f.code ?? `HTTP ${f.status}`;
  const message = f.message.trim();
  const informative = message !== "" && message !== code && message !== "UnknownError";
  return informative ? `${code} (${message})` : code;
}

/**
 * Judges one signed S3 call made with `key`: passes when `failure` is undefined. A refusal names the
 * setting, the action, the bucket and e2's error code, and says what to change; it is not retried (a key
 * does not gain permissions by waiting). 5xx, 429 and calls without an answer are retried.
 */
export function judgeS3(
  check: CheckName,
  key: KeySettings,
  action: S3Action,
  target: S3Target,
  failure: S3Failure | undefined,
): Verdict {
  if (!failure) return pass(check);
  const { bucket, endpoint } = target;
  if (failure.status === undefined) {
    return fail(
      check,
      `no answer from e2 at ${endpoint} (${failure.code ? `${failure.code}: ` : ""}${failure.message})`,
      true,
    );
  }
  if (failure.status >= 500 || failure.status === 429) {
    return fail(check, `e2 answered HTTP ${failure.status} ${s3Code(failure)}`, true);
  }
  const cannot = `${key.keyId} cannot ${ACTION_TEXT[action]} bucket ${bucket}`;
  switch (failure.code) {
    case "InvalidAccessKeyId":
      return fail(
        check,
        `${cannot}: InvalidAccessKeyId — e2 at ${endpoint} does not know this key ID; copy it again from the e2 console (keys belong to one region)`,
        false,
      );
    case "SignatureDoesNotMatch":
      return fail(
        check,
        `${cannot}: SignatureDoesNotMatch — ${key.secret} is not the secret of ${key.keyId}; set the secret key shown when the key was made`,
        false,
      );
    case "NoSuchBucket":
      return fail(
        check,
        `${cannot}: NoSuchBucket — e2 at ${endpoint} has no bucket ${bucket}; check the bucket and that the key belongs to this region`,
        false,
      );
    case "AccessDenied":
    case "Forbidden":
    case undefined:
      if (failure.status === 403 || failure.code === "AccessDenied") {
        return fail(
          check,
          `${cannot}: ${s3Code(failure)} — give the key read and write on this bucket`,
          false,
        );
      }
  }
  return fail(check, `${cannot}: HTTP ${failure.status} ${s3Code(failure)}`, false);
}

/** The Mastodon calls beyond plain object writes and reads that the check makes with Mastodon's key. */
export type MastodonCall = "batch-delete" | "multipart";

/** `DeleteObjects answered HTTP 400 InvalidArgument`, or the code alone when the call is unknown. */
function answerText(f: S3Failure): string {
  return f.call ? `${f.call} answered HTTP ${f.status} ${s3Code(f)}` : `HTTP ${f.status} ${s3Code(f)}`;
}

/**
 * Judges Mastodon's batch delete or multipart upload, made with Mastodon's key. A wrong key, a missing bucket,
 * a 5xx or no answer are judged as for any call ({@link judgeS3}); any other refusal names the call, e2's
 * answer and what the operator can do, since Mastodon itself would fail there in production.
 * `thresholdBytes` is the S3_MULTIPART_THRESHOLD the env block gives Mastodon.
 */
export function judgeMastodonCall(
  check: CheckName,
  key: KeySettings,
  call: MastodonCall,
  target: S3Target,
  failure: S3Failure | undefined,
  thresholdBytes: number,
): Verdict {
  if (!failure) return pass(check);
  const keyProblem = ["InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket"];
  if (
    failure.status === undefined ||
    failure.status >= 500 ||
    failure.status === 429 ||
    keyProblem.includes(failure.code ?? "")
  ) {
    return judgeS3(check, key, call === "multipart" ? "write" : "delete", target, failure);
  }
  const denied = failure.status === 403 || failure.code === "AccessDenied";
  const { bucket } = target;
  if (call === "batch-delete") {
    return fail(
      check,
      `${key.keyId} cannot batch-delete from bucket ${bucket}: ${answerText(failure)} — ` +
        (denied
          ? "give the key read and write on this bucket: "
          : "e2 refuses the call itself (it carries an x-amz-checksum-crc32 header, which current AWS SDKs send because the operation requires a checksum); ") +
        "Mastodon deletes media with DeleteObjects (app/lib/attachment_batch.rb) and no Mastodon setting avoids it (S3_BATCH_DELETE_LIMIT only sets how many keys go in one call), so media admins delete would stay readable" +
        (denied ? "" : "; report it to iDrive support with this line"),
      false,
    );
  }
  return fail(
    check,
    `${key.keyId} cannot upload in parts to bucket ${bucket}: ${answerText(failure)} — ` +
      (denied
        ? "give the key read and write on this bucket; if single uploads work (mastodon-write), "
        : "") +
      `Mastodon uploads files of S3_MULTIPART_THRESHOLD (${thresholdBytes} bytes) or more this way (mastodon/mastodon#30601): ` +
      'set S3_MULTIPART_THRESHOLD in mastodonEnvExtra above the largest file your instance accepts (e.g. "104857600", 100 MiB) so every upload is one PutObject; S3_FORCE_SINGLE_REQUEST does not help (it changes downloads only)',
    false,
  );
}

/**
 * After DeleteObjects answered without error, HeadObject of the deleted probe: `size` undefined means gone.
 * A probe still there means e2 acknowledged a batch delete it did not do.
 */
export function judgeBatchDeleted(
  check: CheckName,
  key: KeySettings,
  target: S3Target,
  result: { size: number | undefined } | S3Failure,
): Verdict {
  if (!("size" in result)) return judgeS3(check, key, "read", target, result);
  if (result.size !== undefined) {
    return fail(
      check,
      `${key.keyId}: DeleteObjects answered without error, but the probe is still in bucket ${target.bucket} (HeadObject found ${result.size} bytes): media admins delete in Mastodon would stay readable; report it to iDrive support with this line`,
      false,
    );
  }
  return pass(check);
}

/** Signed GET of a probe: readable, and exactly the bytes written. */
export function judgeSignedRead(
  check: CheckName,
  key: KeySettings,
  target: S3Target,
  result: { body: string } | S3Failure,
  expected: string,
): Verdict {
  if (!("body" in result)) return judgeS3(check, key, "read", target, result);
  if (result.body !== expected) {
    return fail(
      check,
      `${key.keyId} read ${Buffer.byteLength(result.body)} bytes from bucket ${target.bucket} that are not the probe it just wrote`,
      false,
    );
  }
  return pass(check);
}

/** The standard TLS handshake to the media host with SNI = MEDIA_HOST; `error` is what node reported. */
export function judgeTls(error?: { code?: string; message: string }): Verdict {
  if (!error) return pass("tls");
  return fail(
    "tls",
    `certificate not valid for the media host: ${error.code ? `${error.code}: ` : ""}${error.message}`,
    true,
  );
}

/** GET of a probe through the media host: 200 with exactly the uploaded bytes. */
export function judgeGet(
  answer: HttpAnswer,
  expected: string,
  check: "get" | "mastodon-served" = "get",
): Verdict {
  if (answer.status !== 200)
    return fail(check, `expected HTTP 200 for the probe, got ${statusText(answer)}`, true);
  if (answer.body !== expected) {
    return fail(
      check,
      `HTTP 200 but the body (${Buffer.byteLength(answer.body)} bytes) is not the probe just uploaded (a copy cached from an earlier run?)`,
      true,
    );
  }
  return pass(check);
}

/** Cloudflare adds `cf-ray` to every answer it proxies: without it the request did not go through it. */
export function judgeCfRay(answer: HttpAnswer): Verdict {
  return header(answer, "cf-ray")
    ? pass("cf-ray")
    : fail(
        "cf-ray",
        "no cf-ray header: the answer did not come through Cloudflare (DNS record not proxied, or not propagated yet?)",
        true,
      );
}

/** Mastodon's web client needs CORS on media (audio, and images on reload since 4.2). */
export function judgeCors(answer: HttpAnswer): Verdict {
  return header(answer, "access-control-allow-origin")
    ? pass("cors")
    : fail("cors", `no Access-Control-Allow-Origin header on the probe (HTTP ${answer.status})`, true);
}

/** An S3 listing body, as e2 (or any S3) sends for GET on a bucket. */
export function looksLikeListing(body: string): boolean {
  return /<ListBucketResult[\s>]/.test(body);
}

/**
 * Anonymous GET of `/` through the media host. The edge's `methods` rule refuses it (403) before e2 sees it;
 * with that rule off, e2 answers. Any 4xx passes: this only says the edge does not hand out a listing (whether
 * the bucket itself refuses is `e2-listing-refused`). A 2xx listing fails for good; another 2xx page (a parked
 * domain before DNS settles) is retried.
 */
export function judgeListing(answer: HttpAnswer): Verdict {
  const check = "edge-listing-refused";
  if (answer.status >= 400 && answer.status < 500) return pass(check);
  if (answer.status >= 200 && answer.status < 300) {
    return looksLikeListing(answer.body)
      ? fail(
          check,
          `anonymous listing of / through the media host succeeded (HTTP ${answer.status}, ListBucketResult): anyone can list the bucket`,
          false,
        )
      : fail(check, `anonymous GET of / answered HTTP ${answer.status}; expected a 4xx refusal`, true);
  }
  return fail(check, `anonymous GET of / answered ${statusText(answer)}; expected a 4xx refusal`, true);
}

/**
 * Anonymous PUT / DELETE of the probe through the media host: any 4xx passes (the edge's block rule answers
 * 403; the bucket's own answer is judged by `e2-put-refused` / `e2-delete-refused`). A 2xx fails for good.
 */
export function judgeAnonymousWrite(
  check: "edge-put-refused" | "edge-delete-refused",
  answer: HttpAnswer,
): Verdict {
  const method = check === "edge-put-refused" ? "PUT" : "DELETE";
  if (answer.status >= 400 && answer.status < 500) return pass(check);
  if (answer.status >= 200 && answer.status < 300) {
    return fail(
      check,
      `anonymous ${method} of the probe through the media host was accepted (HTTP ${answer.status}): anyone can write there`,
      false,
    );
  }
  return fail(check, `anonymous ${method} answered ${statusText(answer)}; expected a 4xx refusal`, true);
}

/** Verdicts of one edge attempt, in {@link CHECKS} order. */
export interface EdgeAnswers {
  /** Handshake error, if any; when set, nothing else was asked. */
  tlsError?: { code?: string; message: string } | undefined;
  get?: HttpAnswer | Error;
  listing?: HttpAnswer | Error;
  put?: HttpAnswer | Error;
  del?: HttpAnswer | Error;
}

function judgeOrError(
  check: CheckName,
  answer: HttpAnswer | Error | undefined,
  judge: (a: HttpAnswer) => Verdict,
  missing = "not attempted: the probe GET got no answer",
): Verdict {
  if (answer === undefined) return fail(check, missing, true);
  if (answer instanceof Error) return judgeRequestError(check, answer as Error & { code?: string });
  return judge(answer);
}

/**
 * Turns one attempt's answers into verdicts. A failed handshake yields only the tls verdict; requests
 * skipped after an unanswered GET fail as "not attempted".
 */
export function judgeEdge(answers: EdgeAnswers, expectedBody: string): Verdict[] {
  const tls = judgeTls(answers.tlsError);
  if (!tls.ok) return [tls];
  return [
    tls,
    judgeOrError("get", answers.get, (a) => judgeGet(a, expectedBody)),
    judgeOrError("cf-ray", answers.get, judgeCfRay),
    judgeOrError("cors", answers.get, judgeCors),
    judgeOrError("edge-listing-refused", answers.listing, judgeListing),
    judgeOrError("edge-put-refused", answers.put, (a) => judgeAnonymousWrite("edge-put-refused", a)),
    judgeOrError("edge-delete-refused", answers.del, (a) => judgeAnonymousWrite("edge-delete-refused", a)),
  ];
}

// ---- The bucket itself, asked anonymously at the e2 endpoint (path-style) ----
//
// How an answer there is read. S3 refuses an unsigned request the policy does not allow with 403 AccessDenied,
// whatever the object (a missing key too: without s3:ListBucket S3 does not say whether a key exists), so 403
// is the refusal. 405 MethodNotAllowed and 501 NotImplemented mean the server will not carry out that method
// for anyone: the write did not happen either, so they count as refused for PUT, DELETE and the listing, and the
// signed read-back of the probe that follows each anonymous write confirms nothing changed. 404 (NoSuchBucket)
// means the endpoint does not serve this bucket path-style although the program's key just wrote to it there:
// the check cannot judge, which is a failure, not a pass. Any other 4xx (400, 411…) says the request was
// malformed, not that it was refused: failure. 5xx, 429 and no answer are retried.

const REFUSED = new Set([403, 405, 501]);
const MAKE_PRIVATE =
  'make the bucket private in the e2 console (not "public": that is read and write) and keep only the program\'s read-only bucket policy';

/** Where on e2 the check asked, for failure texts: `https://<endpoint>/<bucket>`. */
export interface EndpointTarget {
  endpoint: string;
  bucket: string;
}

function transient(check: CheckName, what: string, answer: HttpAnswer): Verdict | undefined {
  if (answer.status >= 500 && answer.status !== 501)
    return fail(check, `${what} answered ${statusText(answer)}`, true);
  if (answer.status === 429) return fail(check, `${what} answered ${statusText(answer)}`, true);
  return undefined;
}

function unjudgeable(check: CheckName, what: string, answer: HttpAnswer, t: EndpointTarget): Verdict {
  const why =
    answer.status === 404
      ? `; e2 does not serve bucket ${t.bucket} at https://${t.endpoint}/${t.bucket} although the program's key just wrote there`
      : "";
  return fail(check, `${what} answered ${statusText(answer)}; expected 403 AccessDenied${why}`, false);
}

/** Anonymous GET of `https://<endpoint>/<bucket>` (path-style listing): must be refused. */
export function judgeEndpointListing(answer: HttpAnswer, t: EndpointTarget): Verdict {
  const check = "e2-listing-refused";
  const what = `anonymous listing of https://${t.endpoint}/${t.bucket}`;
  if (REFUSED.has(answer.status)) return pass(check);
  const retry = transient(check, what, answer);
  if (retry) return retry;
  if (answer.status >= 200 && answer.status < 300) {
    return fail(
      check,
      `${what} answered HTTP ${answer.status}${looksLikeListing(answer.body) ? " with the object list" : ""}: anyone can list the bucket; ${MAKE_PRIVATE}`,
      false,
    );
  }
  return unjudgeable(check, what, answer, t);
}

/** The probe as read back with the program's key after an anonymous write: its content, or why not. */
export type ProbeAfter = { body: string } | S3Failure;

/**
 * Anonymous PUT / DELETE of the probe at `https://<endpoint>/<bucket>/<key>`: refused (see above), and the
 * probe, read back signed, still holds exactly what the program wrote. A 2xx fails for good: retrying would
 * only write again.
 */
export function judgeEndpointWrite(
  check: "e2-put-refused" | "e2-delete-refused",
  answer: HttpAnswer,
  after: ProbeAfter | undefined,
  expected: string,
  t: EndpointTarget,
): Verdict {
  const method = check === "e2-put-refused" ? "PUT" : "DELETE";
  const what = `anonymous ${method} of the probe at https://${t.endpoint}/${t.bucket}/`;
  if (answer.status >= 200 && answer.status < 300) {
    return fail(
      check,
      `${what} was accepted (HTTP ${answer.status}): anyone can ${method === "PUT" ? "write to" : "delete from"} the bucket; ${MAKE_PRIVATE}`,
      false,
    );
  }
  const retry = transient(check, what, answer);
  if (retry) return retry;
  if (!REFUSED.has(answer.status)) return unjudgeable(check, what, answer, t);
  if (after === undefined) return fail(check, `${what} was refused, but the probe was not read back`, true);
  if ("body" in after) {
    return after.body === expected
      ? pass(check)
      : fail(
          check,
          `${what} answered HTTP ${answer.status}, yet the probe no longer holds what the program wrote: anonymous writes reach the bucket; ${MAKE_PRIVATE}`,
          false,
        );
  }
  if (after.status === 404) {
    return fail(
      check,
      `${what} answered HTTP ${answer.status}, yet the probe is gone (${after.code ?? "HTTP 404"}): anonymous deletes reach the bucket; ${MAKE_PRIVATE}`,
      false,
    );
  }
  const retryable = after.status === undefined || after.status >= 500 || after.status === 429;
  return fail(
    check,
    `${what} answered HTTP ${answer.status}, but reading the probe back with e2AccessKeyId failed (${after.status === undefined ? "" : `HTTP ${after.status} `}${after.code ?? ""}${after.message ? ` ${after.message}` : ""})`,
    retryable,
  );
}

/**
 * Anonymous GET of the private probe under backups/ at `https://<endpoint>/<bucket>/<key>`: only 403 passes.
 * A 200 means anyone who learns an archive's URL can download it (a policy granting `<bucket>/*`, or reads
 * on `backups/`). 405/501 do not count here: e2 serves anonymous GETs of public media, so a GET that is not
 * refused for this key is not proof of privacy.
 */
export function judgeEndpointBackups(answer: HttpAnswer, key: string, t: EndpointTarget): Verdict {
  const check = "e2-backups-private";
  const what = `anonymous GET of https://${t.endpoint}/${t.bucket}/${key}`;
  if (answer.status === 403) return pass(check);
  const retry = transient(check, what, answer);
  if (retry) return retry;
  if (answer.status >= 200 && answer.status < 300) {
    return fail(
      check,
      `${what} answered HTTP ${answer.status}: anyone can download users' archives (backups/); the bucket policy grants more than Mastodon's public media prefixes (e.g. ${t.bucket}/*) or the bucket is public: grant s3:GetObject only on the public prefixes, as the program's own policy does`,
      false,
    );
  }
  return fail(
    check,
    `${what} answered ${statusText(answer)}; expected 403 AccessDenied for a private object the program's key just wrote`,
    false,
  );
}

/** What the anonymous requests at the e2 endpoint got; undefined = not asked (an earlier one got no answer). */
export interface EndpointAnswers {
  listing?: HttpAnswer | Error;
  put?: HttpAnswer | Error;
  afterPut?: ProbeAfter;
  del?: HttpAnswer | Error;
  afterDel?: ProbeAfter;
  backups?: HttpAnswer | Error;
}

/** Verdicts of one pass over the endpoint checks, in {@link CHECKS} order. */
export function judgeEndpoint(
  answers: EndpointAnswers,
  expectedBody: string,
  backupsKey: string,
  t: EndpointTarget,
): Verdict[] {
  const missing = "not attempted: an earlier request to e2 got no answer";
  const afterPutBody = answers.afterPut && "body" in answers.afterPut ? answers.afterPut.body : expectedBody;
  return [
    judgeOrError("e2-listing-refused", answers.listing, (a) => judgeEndpointListing(a, t), missing),
    judgeOrError(
      "e2-put-refused",
      answers.put,
      (a) => judgeEndpointWrite("e2-put-refused", a, answers.afterPut, expectedBody, t),
      missing,
    ),
    judgeOrError(
      "e2-delete-refused",
      answers.del,
      // Judged against what the PUT left (an accepted PUT already failed its own check).
      (a) => judgeEndpointWrite("e2-delete-refused", a, answers.afterDel, afterPutBody, t),
      missing,
    ),
    judgeOrError(
      "e2-backups-private",
      answers.backups,
      (a) => judgeEndpointBackups(a, backupsKey, t),
      missing,
    ),
  ];
}
