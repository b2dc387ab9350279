// End-to-end check of the media host, run after every deploy that changes it (components/media-check.ts):
//   node --import tsx runtime/media-check.ts        (from the project root; inputs from the environment)
// Writes a probe object to e2 with the program's key, and a private one under backups/ (like a user's archive).
// Then, unsigned and path-style straight at https://<E2_ENDPOINT>/<bucket>, where the bucket policy is the only
// guard, it checks that listing, PUT and DELETE are refused (the probe read back signed is unchanged) and that
// the backups/ probe cannot be read: the media host's block rule refuses all of these at the edge, so only the
// endpoint shows whether the bucket itself is public. Then through https://<MEDIA_HOST>/ that the probe is
// served by Cloudflare with CORS and valid TLS, and that the edge refuses listing, PUT and DELETE too. Then
// proves the key Mastodon gets (its own, or the program's when it shares it) the way Mastodon uses it: a
// PutObject with Mastodon's headers (its Cache-Control, a Content-Type, x-amz-acl only when S3_PERMISSION is
// not empty), a signed read, the probe served through the media host, and a DeleteObjects batch as Mastodon
// deletes media, after which the probe must be gone. The multipart upload is runtime/multipart-check.ts. Retries with a capped back-off
// while DNS and the edge settle (a public bucket or a refused key fails at once), prints one line per check,
// exits non-zero naming the first failed check, and always deletes every probe with the program's key.
//
// Probe keys are new on every run (`_probe/<random>.txt`, `backups/_mastodon-media-probe-<random>`,
// `_probe/<random>-mastodon.txt`), made here rather than passed in, so that the Command's inputs do not change
// from run to run.
//
// Inputs (environment only: argv shows in process lists): MEDIA_HOST, E2_ENDPOINT (host or host:port),
// S3_BUCKET, S3_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, optionally MASTODON_ACCESS_KEY_ID and
// MASTODON_SECRET_ACCESS_KEY (both or neither), MASTODON_S3_PERMISSION (the env block's S3_PERMISSION;
// default what the env block sets, empty), VERIFY_TIMEOUT_SECONDS (default 300). For tests and
// troubleshooting: MEDIA_CHECK_CONNECT_TO (`host:port`, or `name=host:port,...`: connect there instead of
// resolving the name; SNI and Host stay the real name) and MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS (default 10).
// Extra trusted CAs come from node's own NODE_EXTRA_CA_CERTS; certificate verification is never turned off.
//
// Secrets: both key pairs only feed the S3 client's signer (runtime/media-check-s3.ts); key IDs and every
// signature are kept out of printed lines too (and a redactor on every line guards against mistakes). Only
// the status, S3 error code and message of a failed S3 call are ever read.
import { randomBytes } from "node:crypto";
import * as https from "node:https";
import * as tls from "node:tls";
import { isIP } from "node:net";
import {
  EDGE_CHECKS,
  ENDPOINT_CHECKS,
  InputError,
  MAX_BODY_BYTES,
  connectTarget,
  firstFailure,
  formatVerdict,
  judgeEdge,
  judgeEndpoint,
  judgeRequestError,
  judgeGet,
  judgeS3,
  judgeSignedRead,
  MASTODON_CACHE_CONTROL,
  MASTODON_CHECKS,
  MASTODON_KEY,
  PROGRAM_KEY,
  probeKeys,
  nextWaitMs,
  parseInputs,
  probeContent,
  redactor,
  type EdgeAnswers,
  type EndpointAnswers,
  type ProbeAfter,
  type HttpAnswer,
  type KeySettings,
  type MediaCheckInputs,
  type S3Target,
  type Verdict,
} from "./media-checks";
import { failureOf, probeStore, type ProbeStore } from "./media-check-s3";
import { batchDelete } from "./mastodon-batch-delete";

/** Sent on the GET so the edge has a reason to answer with CORS headers. */
const ORIGIN = "https://media-check.invalid";
const USER_AGENT = "mastodon-media-check/1";

const signatures = new Set<string>();
let redact: (text: string) => string = (t) => t;
const say = (line: string): void => void process.stdout.write(`${redact(line)}\n`);
const complain = (line: string): void => void process.stderr.write(`${redact(line)}\n`);

/** Cancelled by SIGINT/SIGTERM (pulumi cancel): stops waiting and requests, cleanup still runs. */
const stop = new AbortController();

interface RequestSpec {
  /** Name for SNI, certificate verification and the Host header. */
  name: string;
  port: number;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** False for the cleanup, which must run to the end after a cancel. Default true. */
  cancellable?: boolean;
}

/** One HTTPS request with standard verification, bounded in time as a whole (connect to last byte). */
function request(inputs: MediaCheckInputs, spec: RequestSpec): Promise<HttpAnswer> {
  const target = connectTarget(inputs.connectTo, spec.name, spec.port);
  const hostHeader = spec.port === 443 ? spec.name : `${spec.name}:${spec.port}`;
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: target.host,
      port: target.port,
      // An endpoint given as an IP address (tests) gets no SNI: RFC 6066 allows names only.
      servername: isIP(spec.name) ? "" : spec.name,
      method: spec.method,
      path: spec.path,
      agent: false,
      rejectUnauthorized: true,
      headers: { host: hostHeader, "user-agent": USER_AGENT, ...spec.headers },
    });
    const timer = setTimeout(
      () =>
        req.destroy(
          Object.assign(new Error(`no answer within ${inputs.requestTimeoutMs / 1000}s`), {
            code: "TIMEOUT",
          }),
        ),
      inputs.requestTimeoutMs,
    );
    const onStop = (): void => void req.destroy(Object.assign(new Error("cancelled"), { code: "CANCELLED" }));
    if (spec.cancellable !== false) {
      if (stop.signal.aborted) onStop();
      stop.signal.addEventListener("abort", onStop, { once: true });
    }
    const done = (): void => {
      clearTimeout(timer);
      stop.signal.removeEventListener("abort", onStop);
    };
    req.on("error", (e) => {
      done();
      reject(e);
    });
    req.on("response", (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let finished = false;
      const finish = (): void => {
        if (finished) return;
        finished = true;
        done();
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString("utf8"),
        });
      };
      res.on("data", (chunk: Buffer) => {
        if (size < MAX_BODY_BYTES) chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
        size += chunk.length;
        if (size >= MAX_BODY_BYTES) {
          finish();
          res.destroy();
        }
      });
      res.on("end", finish);
      res.on("error", (e) => {
        if (finished) return;
        done();
        reject(e);
      });
    });
    req.end(spec.body);
  });
}

/** Path of an object on the media host: e2 maps the host to the bucket, so no bucket in the path. */
function mediaPath(key: string): string {
  return `/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/** Path of the bucket or of an object in it at the e2 endpoint (path-style, which e2 requires). */
function endpointPath(bucket: string, key?: string): string {
  return `/${encodeURIComponent(bucket)}${key === undefined ? "" : mediaPath(key)}`;
}

/** Anonymous GET of `key` through the media host, as a reader's browser asks for it. */
function readerGet(inputs: MediaCheckInputs, key: string): Promise<HttpAnswer> {
  return request(inputs, {
    name: inputs.mediaHost,
    port: 443,
    method: "GET",
    path: mediaPath(key),
    headers: { origin: ORIGIN, accept: "*/*" },
  });
}

/** Standard TLS handshake to the media host: chain and name verified by node, SNI = MEDIA_HOST. */
function handshake(inputs: MediaCheckInputs): Promise<{ code?: string; message: string } | undefined> {
  const target = connectTarget(inputs.connectTo, inputs.mediaHost, 443);
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: target.host,
      port: target.port,
      servername: inputs.mediaHost,
      rejectUnauthorized: true,
      ALPNProtocols: ["http/1.1"],
    });
    const timer = setTimeout(
      () =>
        socket.destroy(
          Object.assign(new Error(`no handshake within ${inputs.requestTimeoutMs / 1000}s`), {
            code: "TIMEOUT",
          }),
        ),
      inputs.requestTimeoutMs,
    );
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      socket.end();
      resolve(undefined);
    });
    socket.once("error", (e: Error & { code?: string }) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ code: e.code, message: e.message });
    });
  });
}

function settle(p: Promise<HttpAnswer>): Promise<HttpAnswer | Error> {
  return p.catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
}

/**
 * One pass over the endpoint checks: unsigned requests straight at e2, as anyone on the internet can send them.
 * The anonymous PUT and DELETE aim at this run's probe only; after each the probe is read back signed.
 */
async function endpointAttempt(
  inputs: MediaCheckInputs,
  store: ProbeStore,
  probeKey: string,
  backupsKey: string,
  content: string,
): Promise<Verdict[]> {
  const e2 = { name: inputs.e2Host, port: inputs.e2Port };
  const target = { endpoint: inputs.e2Endpoint, bucket: inputs.bucket };
  const readBack = async (): Promise<ProbeAfter> => {
    const r = await store.get(probeKey, stop.signal);
    return r.ok ? { body: r.value } : r.failure;
  };
  const answers: EndpointAnswers = {};
  const judged = (): Verdict[] => judgeEndpoint(answers, content, backupsKey, target);
  // After a request without any answer (time-out, reset) the rest would only wait as long again: the pass
  // ends there and is retried as a whole.
  answers.listing = await settle(
    request(inputs, { ...e2, method: "GET", path: endpointPath(inputs.bucket) }),
  );
  if (answers.listing instanceof Error) return judged();
  answers.put = await settle(
    request(inputs, {
      ...e2,
      method: "PUT",
      path: endpointPath(inputs.bucket, probeKey),
      headers: { "content-type": "text/plain" },
      body: "anonymous write attempt by the mastodon-media check\n",
    }),
  );
  if (answers.put instanceof Error) return judged();
  answers.afterPut = await readBack();
  answers.del = await settle(
    request(inputs, { ...e2, method: "DELETE", path: endpointPath(inputs.bucket, probeKey) }),
  );
  if (answers.del instanceof Error) return judged();
  answers.afterDel = await readBack();
  answers.backups = await settle(
    request(inputs, { ...e2, method: "GET", path: endpointPath(inputs.bucket, backupsKey) }),
  );
  return judged();
}

/** One pass over the edge checks, in order (the anonymous writes last: they may change the probe). */
async function edgeAttempt(inputs: MediaCheckInputs, probeKey: string, content: string): Promise<Verdict[]> {
  const answers: EdgeAnswers = { tlsError: await handshake(inputs) };
  if (!answers.tlsError) {
    const probePath = mediaPath(probeKey);
    const media = { name: inputs.mediaHost, port: 443 };
    answers.get = await settle(readerGet(inputs, probeKey));
    // No answer at all (time-out, reset): the rest would only wait as long again; retry the pass instead.
    if (answers.get instanceof Error) return judgeEdge(answers, content);
    answers.listing = await settle(request(inputs, { ...media, method: "GET", path: "/" }));
    answers.put = await settle(
      request(inputs, {
        ...media,
        method: "PUT",
        path: probePath,
        headers: { "content-type": "text/plain" },
        body: "anonymous write attempt by the mastodon-media check\n",
      }),
    );
    answers.del = await settle(request(inputs, { ...media, method: "DELETE", path: probePath }));
  }
  return judgeEdge(answers, content);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      stop.signal.removeEventListener("abort", done);
      resolve();
    }
    stop.signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs `attempt` until it passes, fails for good, or the deadline passes; prints a `wait` line per retry.
 * Returns the last attempt's verdicts.
 */
async function retrying(deadlineMs: number, attempt: () => Promise<Verdict[]>): Promise<Verdict[]> {
  for (let n = 1; ; n++) {
    const verdicts = await attempt();
    const failed = firstFailure(verdicts);
    if (!failed || verdicts.some((v) => !v.ok && !v.retryable) || stop.signal.aborted) return verdicts;
    const wait = nextWaitMs(n, Date.now(), deadlineMs);
    if (wait === undefined) return verdicts;
    say(`wait ${failed.check}: ${failed.reason} (attempt ${n}; next in ${(wait / 1000).toFixed(1)}s)`);
    await sleep(wait);
    if (stop.signal.aborted) return verdicts;
  }
}

/**
 * Proves the key Mastodon gets the way Mastodon uses it: PutObject with Mastodon's headers, signed read, served
 * to readers, then a DeleteObjects batch (how Mastodon deletes media) after which the probe must be gone.
 */
async function mastodonChecks(
  inputs: MediaCheckInputs,
  store: ProbeStore,
  keySettings: KeySettings,
  key: string,
  content: string,
  deadline: number,
): Promise<Verdict[]> {
  const target: S3Target = { bucket: inputs.bucket, endpoint: inputs.e2Endpoint };
  const verdicts: Verdict[] = [];
  // Each step runs only after the one before passed: write, signed read, served to readers, batch delete.
  const steps: (() => Promise<Verdict>)[] = [
    async () =>
      judgeS3(
        "mastodon-write",
        keySettings,
        "write",
        target,
        failureOf(
          await store.put(key, content, stop.signal, {
            cacheControl: MASTODON_CACHE_CONTROL,
            contentType: "text/plain",
            acl: inputs.mastodonPermission,
          }),
        ),
      ),
    // Mastodon reads objects back with its key too (data exports are handed out as signed links).
    async () => {
      const r = await store.get(key, stop.signal);
      return judgeSignedRead(
        "mastodon-read",
        keySettings,
        target,
        r.ok ? { body: r.value } : r.failure,
        content,
      );
    },
    async () => {
      try {
        return judgeGet(await readerGet(inputs, key), content, "mastodon-served");
      } catch (e) {
        return judgeRequestError("mastodon-served", e as Error & { code?: string });
      }
    },
    () => batchDelete("mastodon-batch-delete", inputs, store, keySettings, [key], stop.signal),
  ];
  for (const run of steps) {
    const [verdict] = await retrying(deadline, async () => [await run()]);
    verdicts.push(verdict);
    if (!verdict.ok) break;
  }
  return verdicts;
}

/**
 * Deletes every probe with the program's key: a few quick tries each, independent of the deadline and of a
 * cancel (it must happen after a time-out). Deleting a key that is already gone succeeds.
 */
async function cleanup(inputs: MediaCheckInputs, store: ProbeStore, keys: string[]): Promise<Verdict> {
  const target: S3Target = { bucket: inputs.bucket, endpoint: inputs.e2Endpoint };
  let verdict: Verdict = judgeS3("cleanup", PROGRAM_KEY, "delete", target, undefined);
  for (const key of keys) {
    for (let n = 1; n <= 3; n++) {
      const r = await store.delete(key);
      verdict = judgeS3("cleanup", PROGRAM_KEY, "delete", target, failureOf(r));
      if (verdict.ok || !verdict.retryable || n === 3) break;
      await new Promise((resolve) => setTimeout(resolve, 500 * n));
    }
    if (!verdict.ok) return { ...verdict, reason: `${verdict.reason} (left behind: ${key})` };
  }
  return verdict;
}

async function main(): Promise<number> {
  let inputs: MediaCheckInputs;
  try {
    inputs = parseInputs(process.env);
  } catch (e) {
    complain(`media check: ${e instanceof InputError ? e.message : String(e)}`);
    return 2;
  }
  const secretValues = [inputs.secretAccessKey, inputs.accessKeyId];
  if (inputs.mastodonKey)
    secretValues.push(inputs.mastodonKey.secretAccessKey, inputs.mastodonKey.accessKeyId);
  redact = redactor(() => [...secretValues, ...signatures]);

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      complain(`media check: ${signal}, cleaning up`);
      stop.abort();
    });
  }

  const token = randomBytes(16).toString("hex");
  const keys = probeKeys(token);
  const content = probeContent(token, inputs.mediaHost);
  const mastodonContent = probeContent(`${token} (mastodon key)`, inputs.mediaHost);
  const backupsContent = probeContent(`${token} (private, stands for a user's archive)`, inputs.mediaHost);
  const started = Date.now();
  const deadline = started + inputs.timeoutSeconds * 1000;
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  say(
    `media check of https://${inputs.mediaHost}/${keys.program} (bucket ${inputs.bucket} on ${inputs.e2Endpoint}; up to ${inputs.timeoutSeconds}s)`,
  );
  if (!inputs.mastodonKey) {
    say(
      `note ${MASTODON_CHECKS.join(", ")} use the program's key: no mastodonAccessKeyId, so Mastodon gets the program's key`,
    );
  }

  const program = probeStore(inputs, inputs, signatures);
  const mastodon = inputs.mastodonKey ? probeStore(inputs, inputs.mastodonKey, signatures) : program;
  const mastodonKeySettings = inputs.mastodonKey ? MASTODON_KEY : PROGRAM_KEY;
  const target: S3Target = { bucket: inputs.bucket, endpoint: inputs.e2Endpoint };
  const verdicts: Verdict[] = [];
  try {
    const uploaded = await retrying(deadline, async () => {
      const r = await program.put(keys.program, content, stop.signal);
      if (!r.ok) return [judgeS3("upload", PROGRAM_KEY, "write", target, failureOf(r))];
      // The private probe: no ACL, like Mastodon's archives (private ACL, or none when S3_PERMISSION is empty).
      const b = await program.put(keys.backups, backupsContent, stop.signal);
      return [judgeS3("upload", PROGRAM_KEY, "write", target, failureOf(b))];
    });
    verdicts.push(...uploaded);
    const endpoint = uploaded[0].ok
      ? await retrying(deadline, () => endpointAttempt(inputs, program, keys.program, keys.backups, content))
      : [];
    verdicts.push(...endpoint);
    if (uploaded[0].ok && !firstFailure(endpoint) && !stop.signal.aborted) {
      const edge = await retrying(deadline, () => edgeAttempt(inputs, keys.program, content));
      verdicts.push(...edge);
      if (!firstFailure(edge) && !stop.signal.aborted) {
        verdicts.push(
          ...(await mastodonChecks(
            inputs,
            mastodon,
            mastodonKeySettings,
            keys.mastodon,
            mastodonContent,
            deadline,
          )),
        );
      }
    }
  } finally {
    // Mastodon's probe too: its own delete may have failed or never run.
    verdicts.push(await cleanup(inputs, program, [keys.program, keys.backups, keys.mastodon]));
    program.close();
    if (mastodon !== program) mastodon.close();
  }

  for (const v of verdicts) say(formatVerdict(v));
  const failed = firstFailure(verdicts);
  if (failed) {
    const expected = [...ENDPOINT_CHECKS, ...EDGE_CHECKS, ...MASTODON_CHECKS];
    const skipped = expected.filter((c) => !verdicts.some((v) => v.check === c));
    complain(
      `media check failed at ${failed.check} after ${elapsed()}: ${failed.reason}` +
        (skipped.length > 0 ? ` (not reached: ${skipped.join(", ")})` : "") +
        (stop.signal.aborted ? " (cancelled)" : ""),
    );
    return 1;
  }
  say(
    `media check passed after ${elapsed()}: bucket ${inputs.bucket} refuses anonymous listing, writes and archive reads at e2; https://${inputs.mediaHost}/ serves it through Cloudflare, read-only, with CORS` +
      `; ${inputs.mastodonKey ? "Mastodon's key" : "the key Mastodon shares"} writes with Mastodon's headers, reads and batch-deletes there`,
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    // Unexpected; complain() still redacts the key and signatures from whatever the error says.
    complain(`media check: internal error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    process.exitCode = 3;
  },
);
