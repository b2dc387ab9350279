// The pure half of the media check: input validation, the checks and their verdicts, the back-off
// schedule and the redaction of printed lines. No I/O here, so every rule is unit-tested directly;
// runtime/media-check.ts does the network calls and feeds the answers in.
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from "../components/media-check-limits";
// The probe lives under the prefix the bucket policy makes public on purpose (one definition, shared).
import { PROBE_PREFIX } from "../components/media-paths";

/** Every check, in the order it runs and is reported. The first failed one names the failure. */
export const CHECKS = [
  "upload",
  "e2-listing-refused",
  "e2-put-refused",
  "e2-delete-refused",
  "e2-backups-private",
  "tls",
  "get",
  "cf-ray",
  "cors",
  "edge-listing-refused",
  "edge-put-refused",
  "edge-delete-refused",
  "mastodon-write",
  "mastodon-read",
  "mastodon-served",
  "mastodon-delete",
  "cleanup",
] as const;
export type CheckName = (typeof CHECKS)[number];

/**
 * The anonymous checks made straight at the e2 endpoint, path-style, where the bucket policy is the only guard
 * (the media host's `methods` rule refuses writes and listings before e2 sees them, so the edge cannot tell
 * whether the bucket itself is safe).
 */
export const ENDPOINT_CHECKS = CHECKS.filter((c) => c.startsWith("e2-"));

/** The checks made through the media host; repeated as a whole until they pass or time runs out. */
export const EDGE_CHECKS = CHECKS.filter(
  (c) => c !== "upload" && c !== "cleanup" && !c.startsWith("mastodon-") && !c.startsWith("e2-"),
);

/** The checks of Mastodon's own key, run after the edge passed, only when that key is given. */
export const MASTODON_CHECKS = CHECKS.filter((c) => c.startsWith("mastodon-"));

export { PROBE_PREFIX };

export { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS };
/** Per-request bound (connect + TLS + answer), in seconds. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 10;
/** Bodies are read up to this many bytes: enough to compare the probe and recognise a listing. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface Verdict {
  check: CheckName;
  ok: boolean;
  /** Why it failed; never contains a secret (built from status codes, header names, S3 error codes). */
  reason?: string;
  /** False when waiting cannot help (a writable or listable bucket, a rejected key). */
  retryable: boolean;
}

/** What the checks need from an HTTP answer. Header names lower-case, as node gives them. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Where to connect instead of resolving a name (tests and troubleshooting, like curl's --connect-to). */
export interface Target {
  host: string;
  port: number;
}
export interface ConnectTo {
  /** Applies to every name without its own entry. */
  any?: Target;
  byName: Map<string, Target>;
}

export interface MediaCheckInputs {
  mediaHost: string;
  /** E2_ENDPOINT as given (`host` or `host:port`): it is the Host header e2 sees and signs. */
  e2Endpoint: string;
  e2Host: string;
  e2Port: number;
  bucket: string;
  region: string;
  /** The program's key (config e2AccessKeyId / e2SecretAccessKey). */
  accessKeyId: string;
  secretAccessKey: string;
  /** Mastodon's key (config mastodonAccessKeyId / mastodonSecretAccessKey); absent when Mastodon shares ours. */
  mastodonKey?: KeyPair;
  timeoutSeconds: number;
  requestTimeoutMs: number;
  connectTo: ConnectTo;
}

export interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Bad inputs, all of them at once; messages name the variable and never quote a secret. */
export class InputError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid input:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "InputError";
  }
}

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

export function isHostName(value: string): boolean {
  if (value.length > 253) return false;
  const labels = value.split(".");
  return labels.length >= 2 && labels.every((l) => HOST_LABEL.test(l));
}

/** `host:port` → Target, or undefined when malformed. */
function parseHostPort(value: string): Target | undefined {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(value.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1], port } : undefined;
}

/** Parses MEDIA_CHECK_CONNECT_TO: `host:port` (every name) or a comma list of `name=host:port`. */
export function parseConnectTo(value: string | undefined): ConnectTo {
  const result: ConnectTo = { byName: new Map() };
  if (value === undefined || value.trim() === "") return result;
  for (const raw of value.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    const target = parseHostPort(eq === -1 ? entry : entry.slice(eq + 1));
    const name = eq === -1 ? undefined : entry.slice(0, eq).trim().toLowerCase();
    if (!target || name === "") {
      throw new Error(
        `MEDIA_CHECK_CONNECT_TO: "${entry}" is not "host:port" or "name=host:port" (comma-separated)`,
      );
    }
    if (name === undefined) result.any = target;
    else result.byName.set(name, target);
  }
  return result;
}

/** Where to open the TCP connection for `name`; TLS SNI and the Host header stay `name`. */
export function connectTarget(connectTo: ConnectTo, name: string, port: number): Target {
  return connectTo.byName.get(name.toLowerCase()) ?? connectTo.any ?? { host: name, port };
}

function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** Reads and validates the environment. Throws {@link InputError} listing every problem. */
export function parseInputs(env: Record<string, string | undefined>): MediaCheckInputs {
  const problems: string[] = [];
  const required = (name: string): string => {
    const v = env[name];
    if (v === undefined || v.trim() === "") {
      problems.push(`${name} is not set`);
      return "";
    }
    return v.trim();
  };

  const mediaHost = required("MEDIA_HOST").toLowerCase();
  if (mediaHost && !isHostName(mediaHost)) {
    problems.push(
      `MEDIA_HOST must be a host name like files.example.social, no scheme, port or path (got ${quote(mediaHost)})`,
    );
  }

  const e2Endpoint = required("E2_ENDPOINT").toLowerCase();
  let e2Host = e2Endpoint;
  let e2Port = 443;
  if (e2Endpoint) {
    const hp = parseHostPort(e2Endpoint);
    if (hp) {
      e2Host = hp.host;
      e2Port = hp.port;
    }
    if (!isHostName(e2Host) || (e2Endpoint.includes(":") && !hp)) {
      problems.push(
        `E2_ENDPOINT must be "host" or "host:port" like s3.eu-central-2.idrivee2.com, no scheme or path (got ${quote(e2Endpoint)})`,
      );
    }
  }

  const bucket = required("S3_BUCKET");
  if (bucket && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    problems.push(
      `S3_BUCKET must be an S3 bucket name: 3-63 lower-case letters, digits, dots, hyphens (got ${quote(bucket)})`,
    );
  }

  const region = required("S3_REGION");
  if (region && !/^[a-z0-9-]{1,64}$/.test(region)) {
    problems.push(`S3_REGION must be a region code like eu-central-2 (got ${quote(region)})`);
  }

  const accessKeyId = required("AWS_ACCESS_KEY_ID");
  if (accessKeyId && /\s/.test(accessKeyId)) problems.push("AWS_ACCESS_KEY_ID must not contain white space");
  const secretAccessKey = env["AWS_SECRET_ACCESS_KEY"] ?? "";
  if (secretAccessKey === "") problems.push("AWS_SECRET_ACCESS_KEY is not set");
  else if (/\s/.test(secretAccessKey)) problems.push("AWS_SECRET_ACCESS_KEY must not contain white space");

  // Mastodon's key: both halves or neither (neither: Mastodon shares the program's key, proven above).
  const mastodonKeyId = env["MASTODON_ACCESS_KEY_ID"]?.trim() ?? "";
  const mastodonSecret = env["MASTODON_SECRET_ACCESS_KEY"] ?? "";
  let mastodonKey: KeyPair | undefined;
  if ((mastodonKeyId === "") !== (mastodonSecret === "")) {
    problems.push(
      `${mastodonKeyId === "" ? "MASTODON_ACCESS_KEY_ID" : "MASTODON_SECRET_ACCESS_KEY"} is not set, but its other half is; set both or neither`,
    );
  } else if (mastodonKeyId !== "") {
    if (/\s/.test(mastodonKeyId)) problems.push("MASTODON_ACCESS_KEY_ID must not contain white space");
    if (/\s/.test(mastodonSecret)) problems.push("MASTODON_SECRET_ACCESS_KEY must not contain white space");
    mastodonKey = { accessKeyId: mastodonKeyId, secretAccessKey: mastodonSecret };
  }

  const timeoutSeconds = parseNumber(env, "VERIFY_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS, problems, {
    integer: true,
    max: MAX_TIMEOUT_SECONDS,
  });
  const requestTimeoutSeconds = parseNumber(
    env,
    "MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS",
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    problems,
    { integer: false, max: 120 },
  );

  let connectTo: ConnectTo = { byName: new Map() };
  try {
    connectTo = parseConnectTo(env["MEDIA_CHECK_CONNECT_TO"]);
  } catch (e) {
    problems.push((e as Error).message);
  }

  if (problems.length > 0) throw new InputError(problems);
  return {
    mediaHost,
    e2Endpoint,
    e2Host,
    e2Port,
    bucket,
    region,
    accessKeyId,
    secretAccessKey,
    ...(mastodonKey ? { mastodonKey } : {}),
    timeoutSeconds,
    requestTimeoutMs: Math.round(requestTimeoutSeconds * 1000),
    connectTo,
  };
}

function parseNumber(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  problems: string[],
  rule: { integer: boolean; max: number },
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw.trim());
  if (!Number.isFinite(n) || n <= 0 || n > rule.max || (rule.integer && !Number.isInteger(n))) {
    const kind = rule.integer ? "a whole number of seconds" : "a number of seconds";
    problems.push(`${name} must be ${kind} above 0 and at most ${rule.max} (got ${quote(raw)})`);
    return fallback;
  }
  return n;
}

/** The probe's content: recognisable by a person who finds it, unique to this run. */
export function probeContent(token: string, mediaHost: string): string {
  return `mastodon-media check probe for ${mediaHost}\ntoken ${token}\n`;
}

/** The probe objects of one run: the program key's, the private one under backups/, and Mastodon's key's. */
export interface ProbeKeys {
  program: string;
  /** Written with the program's key and no ACL, like a user's archive: anonymous reads must be refused. */
  backups: string;
  mastodon: string;
}

/**
 * Where the private probe goes: under Mastodon's `backups/` (users' archives, PRIVATE_PREFIXES in
 * components/media-paths.ts), beside Mastodon's own `backups/dumps/…`, never on one of its keys.
 */
export const BACKUPS_PROBE_PREFIX = "backups/_mastodon-media-probe-";

/**
 * Object keys of this run's probes, from the run's random token: new keys every run, so no copy an edge or
 * browser cached from an earlier run can answer for this one, and no earlier run's leftover is overwritten.
 * Always under {@link PROBE_PREFIX} or {@link BACKUPS_PROBE_PREFIX}: the check never writes or deletes
 * anything else.
 */
export function probeKeys(token: string): ProbeKeys {
  if (!/^[0-9a-f]{16,64}$/.test(token)) throw new Error("probe token must be 16-64 lower-case hex digits");
  return {
    program: `${PROBE_PREFIX}${token}.txt`,
    backups: `${BACKUPS_PROBE_PREFIX}${token}`,
    mastodon: `${PROBE_PREFIX}${token}-mastodon.txt`,
  };
}

/**
 * Back-off before attempt `attempt + 1` (attempt counts from 1): 0.5 s doubling, capped at `maxMs`
 * (15 s) so a check that settles late is still noticed soon after.
 */
export function backoffDelayMs(attempt: number, initialMs = 500, maxMs = 15_000): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * How long to wait before the next attempt, or undefined when the deadline has passed. The last wait is
 * cut to end exactly at the deadline, so one final attempt runs then.
 */
export function nextWaitMs(attempt: number, nowMs: number, deadlineMs: number): number | undefined {
  if (nowMs >= deadlineMs) return undefined;
  return Math.min(backoffDelayMs(attempt), deadlineMs - nowMs);
}

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

/** One printable line, bounded: no control characters, at most 400 characters (room for the advice). */
function clean(text: string): string {
  const flat = text.replace(/\p{Cc}+/gu, " ").trim();
  return flat.length > 400 ? `${flat.slice(0, 400)}…` : flat;
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

export function firstFailure(verdicts: Verdict[]): Verdict | undefined {
  return verdicts.find((v) => !v.ok);
}

/** `ok   <check>` or `FAIL <check>: <reason>`. */
export function formatVerdict(v: Verdict): string {
  return v.ok ? `ok   ${v.check}` : `FAIL ${v.check}: ${v.reason ?? "failed"}`;
}

/**
 * Returns a function that replaces every occurrence of the given values (the secret key, the key ID, each
 * request signature) with `[redacted]`: a last guard on every printed line.
 */
export function redactor(values: () => Iterable<string>): (text: string) => string {
  return (text) => {
    let out = text;
    for (const v of values()) {
      if (v.length >= 4) out = out.split(v).join("[redacted]");
    }
    return out;
  };
}
