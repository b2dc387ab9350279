// Real HTTPS servers on 127.0.0.1 for the media-check tests:
// - the media host as readers see it (Cloudflare in front of e2's custom domain): a stand-in that applies the
//   program's `methods` block rule (components/edge-rules.ts's own ALLOWED_METHODS and ALLOWED_PATH_PREFIXES),
//   forwards what it lets through, anonymously, to the origin and adds what Cloudflare's edge adds (cf-ray, and
//   CORS from the headers rule), healthy or broken on demand. The origin is normally Ceph RGW
//   (tests/support/ceph-rgw.ts) started with a DNS name, so RGW itself maps the media host to the bucket as
//   e2's custom domain does, and reads, listings and anonymous writes are judged by a real S3 server and
//   its real bucket policy evaluation;
// - a fake e2, only for the faults RGW cannot produce on demand: an endpoint that never answers, or answers
//   503 SlowDown for a while. It does not check signatures (RGW does, in the other tests); a request without
//   an Authorization header is treated as anonymous and refused unless it GETs a publicly readable key.
// Certificates come from a throw-away CA made with openssl; the checker trusts it through
// NODE_EXTRA_CA_CERTS only.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ALLOWED_METHODS, ALLOWED_PATH_PREFIXES } from "../../components/edge-rules";
import { isPubliclyReadable } from "../../components/media-paths";
import { HANG_LIMIT_MS } from "./hang-limit";

export interface KeyPair {
  key: string;
  cert: string;
}

export interface TestPki {
  /** PEM file of the test CA, for NODE_EXTRA_CA_CERTS. */
  caFile: string;
  /** Leaf certificate for each requested name (SAN = that name only). */
  leaf: (name: string) => KeyPair;
  dispose: () => void;
}

/** A CA plus one leaf per name, all EC P-256 (fast to make), valid for a day. */
export function makePki(names: string[]): TestPki {
  const dir = mkdtempSync(join(tmpdir(), "media-check-pki-"));
  const ssl = (...args: string[]): void =>
    void execFileSync("openssl", args, { cwd: dir, stdio: "pipe", timeout: HANG_LIMIT_MS });
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
  ssl(
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "ca.key",
    "-out",
    "ca.crt",
    "-days",
    "1",
    "-subj",
    "/CN=media-check test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  );
  const leaves = new Map<string, KeyPair>();
  names.forEach((name, i) => {
    writeFileSync(
      join(dir, `leaf${i}.ext`),
      `subjectAltName=DNS:${name}\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n`,
    );
    ssl("req", ...ec, "-keyout", `leaf${i}.key`, "-out", `leaf${i}.csr`, "-subj", `/CN=${name}`);
    ssl(
      "x509",
      "-req",
      "-in",
      `leaf${i}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "1",
      "-out",
      `leaf${i}.crt`,
      "-extfile",
      `leaf${i}.ext`,
    );
    leaves.set(name, {
      key: readFileSync(join(dir, `leaf${i}.key`), "utf8"),
      cert: readFileSync(join(dir, `leaf${i}.crt`), "utf8"),
    });
  });
  return {
    caFile: join(dir, "ca.crt"),
    leaf: (name) => {
      const pair = leaves.get(name);
      if (!pair) throw new Error(`no test certificate for ${name}`);
      return pair;
    },
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** What the origin answered to one forwarded request. */
export interface OriginAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** The bucket behind the media host: answers `method` on `path` (`/` = the bucket itself) for `host`. */
export type MediaOrigin = (method: string, host: string, path: string, body: Buffer) => Promise<OriginAnswer>;

/**
 * An S3 server that maps a host name to a bucket itself, as e2 does for a registered custom domain: Ceph RGW
 * with `rgw dns name` answers `Host: <bucket>.<dnsName>` from that bucket (so `/` is a listing of it).
 * Requests are forwarded with the reader's Host and path and without credentials, as a reader's are; `ca`
 * is trusted for the server's certificate.
 */
export function s3Origin(opts: { url: string; ca: string }): MediaOrigin {
  const base = new URL(opts.url);
  return (method, host, path, body) =>
    new Promise((resolve, reject) => {
      const req = https.request(
        {
          host: base.hostname,
          port: base.port,
          method,
          path,
          ca: opts.ca,
          // node would take SNI from the Host header; RGW's certificate names localhost and 127.0.0.1.
          servername: "localhost",
          agent: false,
          timeout: HANG_LIMIT_MS,
          headers: { host, ...(body.length > 0 ? { "content-length": String(body.length) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const headers: Record<string, string> = {};
            for (const name of ["content-type", "etag", "last-modified"]) {
              const v = res.headers[name];
              if (typeof v === "string") headers[name] = v;
            }
            resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks) });
          });
          res.on("error", reject);
        },
      );
      req.on("timeout", () => req.destroy(new Error("origin did not answer")));
      req.on("error", reject);
      req.end(body);
    });
}

export interface StoredObject {
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Objects by `<bucket>/<key>` (key decoded), shared by the fake e2 and {@link storeOrigin}. */
export type ObjectStore = Map<string, StoredObject>;

/** The fake e2's store as a read-only public bucket: GET of an object, everything else 403. */
export function storeOrigin(store: ObjectStore, bucket: string): MediaOrigin {
  const xml = { "content-type": "application/xml" };
  return async (method, _host, path) => {
    const obj = store.get(`${bucket}/${path.slice(1).split("/").map(decodeURIComponent).join("/")}`);
    if (method === "GET" && path !== "/" && obj)
      return { status: 200, headers: { "content-type": "text/plain" }, body: Buffer.from(obj.body) };
    if (method === "GET" && path !== "/")
      return { status: 404, headers: xml, body: Buffer.from("<Error><Code>NoSuchKey</Code></Error>") };
    return { status: 403, headers: xml, body: Buffer.from("<Error><Code>AccessDenied</Code></Error>") };
  };
}

export interface E2Record {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The request body's length, and the body itself when it is XML (DeleteObjects, CompleteMultipartUpload). */
  bodyBytes: number;
  xml?: string;
}

/** Faults of the fake e2; the default answers every request. */
export interface FakeE2Behaviour {
  /** Accept connections and requests, never answer. */
  hang?: boolean;
  /** Answer 503 SlowDown to the first this-many requests. */
  slowDownFirst?: number;
  /** Answer 503 SlowDown to the first this-many unsigned requests. */
  slowDownAnonymousFirst?: number;
  /**
   * Answer DeleteObjects with HTTP 200 listing every key under `<Error>` with this code, deleting nothing (how S3
   * reports keys it refused in a batch).
   */
  batchDeleteErrorCode?: string;
}

export interface FakeE2 {
  port: number;
  store: ObjectStore;
  log: E2Record[];
  close: () => Promise<void>;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

/** Decodes `/<bucket>/<key>` as S3 does (path-style), ignoring the query. */
function objectId(url: string): string | undefined {
  const path = url.split("?")[0];
  const m = /^\/([^/]+)\/(.+)$/.exec(path);
  return m ? `${decodeURIComponent(m[1])}/${m[2].split("/").map(decodeURIComponent).join("/")}` : undefined;
}

async function listen(server: https.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: https.Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/**
 * An S3 endpoint for faults and for recording what a client sends: object PUT / GET / HEAD / DELETE,
 * DeleteObjects and multipart uploads, path-style, signatures not checked, with the behaviour's fault. Every
 * request's headers are logged.
 */
export async function startFakeE2(opts: KeyPair & { behaviour?: FakeE2Behaviour }): Promise<FakeE2> {
  const b = opts.behaviour ?? {};
  const store: ObjectStore = new Map();
  const log: E2Record[] = [];
  const uploads = new Map<string, Map<number, Buffer>>();
  const xmlError = (res: import("node:http").ServerResponse, status: number, code: string): void =>
    void res
      .writeHead(status, { "content-type": "application/xml" })
      .end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message></Message></Error>`);
  const server = https.createServer({ key: opts.key, cert: opts.cert }, (req, res) => {
    void (async () => {
      const body = await readBody(req);
      const record: E2Record = {
        method: req.method ?? "",
        path: req.url ?? "",
        status: 0,
        headers: { ...req.headers },
        bodyBytes: body.length,
        ...(body.subarray(0, 5).toString() === "<?xml" || body.subarray(0, 1).toString() === "<"
          ? { xml: body.toString("utf8") }
          : {}),
      };
      log.push(record);
      if (b.hang) return; // the socket stays open until the client gives up
      const id = objectId(req.url ?? "/");
      if (log.length <= (b.slowDownFirst ?? 0)) {
        record.status = 503;
        return xmlError(res, 503, "SlowDown");
      }
      const anonymous = req.headers["authorization"] === undefined;
      if (
        anonymous &&
        log.filter((r) => r.headers["authorization"] === undefined).length <= (b.slowDownAnonymousFirst ?? 0)
      ) {
        record.status = 503;
        return xmlError(res, 503, "SlowDown");
      }
      // Anonymous: what the program's policy allows (GET of public media and the probe), else AccessDenied.
      const publicGet =
        req.method === "GET" && id !== undefined && isPubliclyReadable(id.slice(id.indexOf("/") + 1));
      if (anonymous && !publicGet) {
        record.status = 403;
        return xmlError(res, 403, "AccessDenied");
      }
      const query = new URLSearchParams((req.url ?? "").split("?")[1] ?? "");
      const ok = (status: number, headers: Record<string, string>, xml?: string): void => {
        record.status = status;
        res.writeHead(status, xml ? { ...headers, "content-type": "application/xml" } : headers).end(xml);
      };
      // DeleteObjects (POST /<bucket>?delete): removes the listed keys; quiet, so only refused keys are listed.
      if (req.method === "POST" && query.has("delete") && !id) {
        const bucket = decodeURIComponent((req.url ?? "/").split("?")[0].replace(/^\/|\/$/g, ""));
        const keys = [...body.toString("utf8").matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]);
        const code = b.batchDeleteErrorCode;
        if (!code) for (const key of keys) store.delete(`${bucket}/${key}`);
        const errors = code
          ? keys.map((k) => `<Error><Key>${k}</Key><Code>${code}</Code><Message></Message></Error>`)
          : [];
        return ok(
          200,
          {},
          `<?xml version="1.0" encoding="UTF-8"?><DeleteResult>${errors.join("")}</DeleteResult>`,
        );
      }
      if (!id) {
        record.status = 400;
        return xmlError(res, 400, "InvalidRequest");
      }
      // Multipart upload: parts are kept per upload ID and joined on completion.
      if (req.method === "POST" && query.has("uploads")) {
        const uploadId = `upload-${uploads.size + 1}`;
        uploads.set(uploadId, new Map());
        return ok(
          200,
          {},
          `<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult><UploadId>${uploadId}</UploadId></InitiateMultipartUploadResult>`,
        );
      }
      const upload = uploads.get(query.get("uploadId") ?? "");
      if (upload && req.method === "PUT") {
        upload.set(Number(query.get("partNumber")), body);
        // As S3 does, the part's checksum comes back when the client sent one.
        const crc32 = req.headers["x-amz-checksum-crc32"];
        return ok(200, {
          etag: `"part-${query.get("partNumber")}"`,
          ...(typeof crc32 === "string" ? { "x-amz-checksum-crc32": crc32 } : {}),
        });
      }
      if (upload && req.method === "POST") {
        const joined = [...upload.entries()].sort(([a], [b]) => a - b).map(([, part]) => part);
        store.set(id, { body: Buffer.concat(joined).toString("latin1"), headers: { ...req.headers } });
        uploads.delete(query.get("uploadId")!);
        return ok(
          200,
          {},
          `<?xml version="1.0" encoding="UTF-8"?><CompleteMultipartUploadResult><ETag>"joined"</ETag></CompleteMultipartUploadResult>`,
        );
      }
      if (upload && req.method === "DELETE") {
        uploads.delete(query.get("uploadId")!);
        return ok(204, {});
      }
      if (req.method === "HEAD") {
        const obj = store.get(id);
        return obj
          ? ok(200, { "content-length": String(Buffer.byteLength(obj.body, "latin1")) })
          : ok(404, {});
      }
      if (req.method === "PUT") {
        store.set(id, { body: body.toString("utf8"), headers: { ...req.headers } });
        record.status = 200;
        res.writeHead(200, { etag: '"0"' }).end();
      } else if (req.method === "DELETE") {
        store.delete(id);
        record.status = 204;
        res.writeHead(204).end();
      } else if (req.method === "GET" && store.has(id)) {
        record.status = 200;
        res.writeHead(200, { "content-type": "text/plain" }).end(store.get(id)!.body);
      } else {
        record.status = 404;
        xmlError(res, 404, "NoSuchKey");
      }
    })();
  });
  const port = await listen(server);
  return { port, store, log, close: () => closeServer(server) };
}

/** How the media host stand-in misbehaves at the edge; the default is healthy. */
export interface MediaBehaviour {
  /** Omit Access-Control-Allow-Origin. */
  noCors?: boolean;
  /** Omit cf-ray (as if the DNS record were not proxied). */
  noCfRay?: boolean;
  /** Answer 502 to the first this-many requests, then behave. */
  failFirst?: number;
  /** Answer 502 to everything. */
  alwaysFail?: boolean;
  /** Complete the TLS handshake but never answer HTTP. */
  hang?: boolean;
  /** Without the `methods` rule (the operator switched the group off): everything reaches the origin. */
  noMethodsRule?: boolean;
}

/**
 * Whether the program's `methods` rule blocks a request at the edge: a method other than GET, HEAD, OPTIONS,
 * or a path outside the allowed prefixes. Mirrors the rule's expression in components/edge-rules.ts from the
 * same data (Cloudflare's http.request.uri.path is the path without the query).
 */
export function blockedByMethodsRule(method: string, url: string): boolean {
  const path = url.split("?")[0];
  return !ALLOWED_METHODS.includes(method) || !ALLOWED_PATH_PREFIXES.some((p) => path.startsWith(p));
}

export interface FakeMediaHost {
  port: number;
  /** Every request, with the time it arrived (ms since epoch). */
  requests: { method: string; path: string; host: string | undefined; status: number; at: number }[];
  close: () => Promise<void>;
}

export interface FakeMediaHostOptions extends KeyPair {
  /** The media host name; only requests for it reach the origin (e2 maps it to the bucket). */
  host: string;
  origin: MediaOrigin;
  behaviour?: MediaBehaviour;
}

/** The media host as readers see it: Cloudflare in front of e2, which maps the host to the bucket. */
export async function startFakeMediaHost(opts: FakeMediaHostOptions): Promise<FakeMediaHost> {
  const b = opts.behaviour ?? {};
  const requests: FakeMediaHost["requests"] = [];
  let served = 0;
  const server = https.createServer({ key: opts.key, cert: opts.cert }, (req, res) => {
    if (b.hang) return; // the socket stays open until the client gives up
    void (async () => {
      const body = await readBody(req);
      const rec = {
        method: req.method ?? "",
        path: req.url ?? "",
        host: req.headers["host"],
        status: 0,
        at: Date.now(),
      };
      requests.push(rec);
      const send = (status: number, headers: Record<string, string>, payload: Buffer | string = ""): void => {
        rec.status = status;
        const edge: Record<string, string> = {};
        if (!b.noCfRay) edge["cf-ray"] = `${(served++).toString(16).padStart(16, "0")}-FRA`;
        if (!b.noCors) edge["access-control-allow-origin"] = "*";
        res.writeHead(status, { ...headers, ...edge });
        res.end(payload);
      };
      if (b.alwaysFail || requests.length <= (b.failFirst ?? 0))
        return send(502, { "content-type": "text/html" }, "<h1>502 Bad Gateway</h1>");
      if (req.headers["host"] !== opts.host)
        return send(404, { "content-type": "application/xml" }, "<Error><Code>NoSuchBucket</Code></Error>");
      // The rule is for the media host only. Cloudflare's block action: 403 with its own HTML page, before anything reaches e2.
      if (!b.noMethodsRule && blockedByMethodsRule(req.method ?? "", req.url ?? "/"))
        return send(403, { "content-type": "text/html" }, "<h1>Sorry, you have been blocked</h1>");
      try {
        const answer = await opts.origin(
          req.method ?? "GET",
          opts.host,
          (req.url ?? "/").split("?")[0],
          body,
        );
        send(answer.status, answer.headers, answer.body);
      } catch {
        send(502, { "content-type": "text/html" }, "<h1>502 Bad Gateway (origin)</h1>");
      }
    })();
  });
  const port = await listen(server);
  return { port, requests, close: () => closeServer(server) };
}
