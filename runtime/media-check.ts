// End-to-end check of the media host, run after every deploy that changes it (components/media-check.ts):
//   node --import tsx runtime/media-check.ts        (from the project root; inputs from the environment)
// Uploads a probe object to e2 with the program's key, then checks through https://<MEDIA_HOST>/ that the
// probe is served by Cloudflare with CORS and valid TLS, and that anonymous listing, PUT and DELETE are
// refused. Retries with a capped back-off while DNS and the edge settle, prints one line per check, exits
// non-zero naming the first failed check, and always deletes the probe.
//
// Inputs (environment only: argv shows in process lists): MEDIA_HOST, E2_ENDPOINT (host or host:port),
// S3_BUCKET, S3_REGION, PROBE_KEY (under _probe/), AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
// VERIFY_TIMEOUT_SECONDS (default 300). For tests and troubleshooting: MEDIA_CHECK_CONNECT_TO
// (`host:port`, or `name=host:port,...`: connect there instead of resolving the name; SNI and Host stay the
// real name) and MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS (default 10). Extra trusted CAs come from node's own
// NODE_EXTRA_CA_CERTS; certificate verification is never turned off.
//
// Secrets: the secret key only feeds the HMAC; the key ID and every signature are kept out of printed
// lines too (and a redactor on every line guards against mistakes). e2's error bodies echo the string to
// sign and the signature, so only their <Code> and <Message> are ever read.
import { randomBytes } from "node:crypto";
import * as https from "node:https";
import * as tls from "node:tls";
import {
  EDGE_CHECKS,
  InputError,
  MAX_BODY_BYTES,
  connectTarget,
  firstFailure,
  formatVerdict,
  judgeCleanup,
  judgeEdge,
  judgeRequestError,
  judgeUpload,
  nextWaitMs,
  parseInputs,
  probeContent,
  redactor,
  type EdgeAnswers,
  type HttpAnswer,
  type MediaCheckInputs,
  type Verdict,
} from "./media-checks";
import { s3ObjectPath, signRequest, uriEncode } from "./sigv4";

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
      servername: spec.name,
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

/** A request to e2 signed with the program's key (path-style: /<bucket>/<key>). */
function e2Request(inputs: MediaCheckInputs, method: "PUT" | "DELETE", body?: string): Promise<HttpAnswer> {
  const cancellable = method !== "DELETE";
  const path = s3ObjectPath(inputs.bucket, inputs.probeKey);
  const signed = signRequest(
    {
      method,
      host: inputs.e2Endpoint,
      path,
      headers: body === undefined ? {} : { "content-type": "text/plain; charset=utf-8" },
      body,
    },
    { accessKeyId: inputs.accessKeyId, secretAccessKey: inputs.secretAccessKey, region: inputs.region },
    new Date(),
  );
  signatures.add(signed.signature);
  const headers = { ...signed.headers };
  delete headers["host"]; // sent by request() from the same value
  if (body !== undefined) {
    // Unsigned, as the AWS SDKs send it. The edge respects origin cache headers and ignores query strings,
    // so without this an earlier run's probe could be served from cache instead of this run's.
    headers["cache-control"] = "no-store";
  }
  return request(inputs, {
    name: inputs.e2Host,
    port: inputs.e2Port,
    method,
    path,
    headers,
    body,
    cancellable,
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

/** One pass over the edge checks, in order (the anonymous writes last: they may change the probe). */
async function edgeAttempt(inputs: MediaCheckInputs, content: string): Promise<Verdict[]> {
  const answers: EdgeAnswers = { tlsError: await handshake(inputs) };
  if (!answers.tlsError) {
    const probePath = `/${inputs.probeKey.split("/").map(uriEncode).join("/")}`;
    const media = { name: inputs.mediaHost, port: 443 };
    answers.get = await settle(
      request(inputs, {
        ...media,
        method: "GET",
        path: probePath,
        headers: { origin: ORIGIN, accept: "*/*" },
      }),
    );
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

async function upload(inputs: MediaCheckInputs, content: string): Promise<Verdict> {
  try {
    return judgeUpload(await e2Request(inputs, "PUT", content));
  } catch (e) {
    return judgeRequestError("upload", e as Error & { code?: string });
  }
}

/** Deletes the probe: a few quick tries, independent of the deadline (it must happen after a time-out). */
async function cleanup(inputs: MediaCheckInputs): Promise<Verdict> {
  let verdict: Verdict | undefined;
  for (let n = 1; n <= 3; n++) {
    try {
      verdict = judgeCleanup(await e2Request(inputs, "DELETE"));
    } catch (e) {
      verdict = judgeRequestError("cleanup", e as Error & { code?: string });
    }
    if (verdict.ok || !verdict.retryable || n === 3) break;
    await new Promise((r) => setTimeout(r, 500 * n));
  }
  return verdict!;
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
  redact = redactor(() => [...secretValues, ...signatures]);

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      complain(`media check: ${signal}, cleaning up`);
      stop.abort();
    });
  }

  const token = randomBytes(16).toString("hex");
  const content = probeContent(token, inputs.mediaHost);
  const started = Date.now();
  const deadline = started + inputs.timeoutSeconds * 1000;
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  say(
    `media check of https://${inputs.mediaHost}/${inputs.probeKey} (bucket ${inputs.bucket} on ${inputs.e2Endpoint}; up to ${inputs.timeoutSeconds}s)`,
  );

  const verdicts: Verdict[] = [];
  try {
    const uploaded = await retrying(deadline, async () => [await upload(inputs, content)]);
    verdicts.push(...uploaded);
    if (uploaded[0].ok) verdicts.push(...(await retrying(deadline, () => edgeAttempt(inputs, content))));
  } finally {
    verdicts.push(await cleanup(inputs));
  }

  for (const v of verdicts) say(formatVerdict(v));
  const failed = firstFailure(verdicts);
  if (failed) {
    const skipped = EDGE_CHECKS.filter((c) => !verdicts.some((v) => v.check === c));
    complain(
      `media check failed at ${failed.check} after ${elapsed()}: ${failed.reason}` +
        (skipped.length > 0 ? ` (not reached: ${skipped.join(", ")})` : "") +
        (stop.signal.aborted ? " (cancelled)" : ""),
    );
    return 1;
  }
  say(
    `media check passed after ${elapsed()}: https://${inputs.mediaHost}/ serves e2 through Cloudflare, read-only, with CORS`,
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
