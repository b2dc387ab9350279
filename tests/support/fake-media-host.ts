// Real HTTPS servers on 127.0.0.1 for the media-check tests: a fake e2 that checks every signed request
// with @smithy/signature-v4 (independently of the checker's own signing code) and stores objects, and a
// fake Cloudflare-fronted media host serving that store, healthy or broken on demand. Certificates come
// from a throw-away CA made with openssl; the checker trusts it through NODE_EXTRA_CA_CERTS only.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";

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
    void execFileSync("openssl", args, { cwd: dir, stdio: "pipe", timeout: 10_000 });
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

export interface StoredObject {
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

/** Objects by `<bucket>/<key>` (key decoded), shared by the fake e2 and the fake media host. */
export type ObjectStore = Map<string, StoredObject>;

export interface E2Record {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Why a signed request was refused, if it was. */
  rejection?: string;
}

export interface FakeE2 {
  port: number;
  store: ObjectStore;
  log: E2Record[];
  /** Every signature the checker sent, so tests can assert none is ever printed. */
  signaturesSeen: string[];
  close: () => Promise<void>;
}

/** A key e2 knows. */
export interface FakeE2Key {
  accessKeyId: string;
  /** The secret e2 holds; a different one than the checker's makes every signature wrong. */
  secretAccessKey: string;
  /** PUT and DELETE are refused with 403 AccessDenied (a read-only key). */
  readOnly?: boolean;
}

export interface FakeE2Options extends KeyPair {
  /** Host header e2 expects (E2_ENDPOINT as the checker was given it), from the port it listens on. */
  host: (port: number) => string;
  region: string;
  keys: FakeE2Key[];
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function xmlError(res: ServerResponse, status: number, code: string, message: string, extra = ""): void {
  res.writeHead(status, { "content-type": "application/xml" });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message>${extra}</Error>`,
  );
}

function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("hex");
}

/** `20261105T140309Z` → Date. */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  return m ? new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6])) : undefined;
}

/** Checks a SigV4 request the way S3 does; returns the reason it is wrong, or undefined. */
async function verifySignature(
  req: IncomingMessage,
  body: Buffer,
  opts: FakeE2Options,
  host: string,
  seen: string[],
): Promise<string | undefined> {
  const auth = req.headers["authorization"];
  if (!auth) return "anonymous";
  const m =
    /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})$/.exec(
      auth,
    );
  if (!m) return "malformed authorization header";
  const [, keyId, , region, signedHeaders, signature] = m;
  seen.push(signature);
  const key = opts.keys.find((k) => k.accessKeyId === keyId);
  if (!key) return "InvalidAccessKeyId";
  if (region !== opts.region) return `wrong signing region ${region}`;
  if (req.headers["host"] !== host) return `Host header ${req.headers["host"]} is not ${host}`;
  const date = parseAmzDate(String(req.headers["x-amz-date"] ?? ""));
  if (!date || Math.abs(date.getTime() - Date.now()) > 15 * 60_000) return "x-amz-date missing or skewed";
  const hash = new Sha256();
  hash.update(body);
  if (req.headers["x-amz-content-sha256"] !== hex(await hash.digest()))
    return "x-amz-content-sha256 does not match the body";
  const names = signedHeaders.split(";");
  for (const required of ["host", "x-amz-date", "x-amz-content-sha256"]) {
    if (!names.includes(required)) return `${required} is not signed`;
  }
  const headers: Record<string, string> = {};
  for (const name of names) headers[name] = String(req.headers[name] ?? "");
  const signer = new SignatureV4({
    credentials: { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey },
    region: opts.region,
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });
  const expected = await signer.sign(
    {
      method: req.method ?? "",
      protocol: "https:",
      hostname: host.split(":")[0],
      // The SDK names the operation in the query (`?x-id=PutObject`): signed as a query, not as path.
      path: (req.url ?? "/").split("?")[0],
      query: Object.fromEntries(new URL(req.url ?? "/", "https://e2.invalid").searchParams),
      headers,
      body,
    },
    { signingDate: date },
  );
  if (expected.headers["authorization"] !== auth) return "SignatureDoesNotMatch";
  if (key.readOnly && (req.method === "PUT" || req.method === "DELETE")) return "AccessDenied";
  return undefined;
}

/** Decodes `/<bucket>/<key>` as S3 does (path-style). */
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

/** e2's S3 endpoint: signed PUT / DELETE / GET of objects, path-style; anonymous requests refused. */
export async function startFakeE2(opts: FakeE2Options): Promise<FakeE2> {
  const store: ObjectStore = new Map();
  const log: E2Record[] = [];
  const signaturesSeen: string[] = [];
  const server = https.createServer({ key: opts.key, cert: opts.cert }, (req, res) => {
    void (async () => {
      const body = await readBody(req);
      const record: E2Record = {
        method: req.method ?? "",
        path: req.url ?? "",
        status: 0,
        headers: { ...req.headers },
        body: body.toString("utf8"),
      };
      log.push(record);
      const problem = await verifySignature(req, body, opts, opts.host(port), signaturesSeen);
      const id = objectId(req.url ?? "/");
      if (problem === "anonymous") {
        record.status = 403;
        return xmlError(res, 403, "AccessDenied", "Access Denied");
      }
      if (problem === "AccessDenied" || problem === "InvalidAccessKeyId") {
        record.status = 403;
        record.rejection = problem;
        return xmlError(res, 403, problem, problem === "AccessDenied" ? "Access Denied" : "");
      }
      if (problem) {
        record.status = 403;
        record.rejection = problem;
        // Like real S3, echo what a client needs to debug its signing: the checker must not print it.
        return xmlError(
          res,
          403,
          "SignatureDoesNotMatch",
          "The request signature we calculated does not match the signature you provided.",
          `<AWSAccessKeyId>${/Credential=([^/]+)/.exec(String(req.headers["authorization"]))?.[1]}</AWSAccessKeyId><SignatureProvided>${String(req.headers["authorization"]).slice(-64)}</SignatureProvided><StringToSign>AWS4-HMAC-SHA256</StringToSign>`,
        );
      }
      if (!id) {
        record.status = 400;
        return xmlError(res, 400, "InvalidRequest", "object requests only");
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
        xmlError(res, 404, "NoSuchKey", "The specified key does not exist.");
      }
    })();
  });
  const port = await listen(server);
  return { port, store, log, signaturesSeen, close: () => closeServer(server) };
}

/** How the fake media host misbehaves; the default is healthy. */
export interface MediaBehaviour {
  /** Answer GET / with a ListBucketResult (a public, listable bucket). */
  listable?: boolean;
  /** Accept anonymous PUT of objects (a writable bucket). */
  anonymousPut?: boolean;
  /** Accept anonymous DELETE of objects. */
  anonymousDelete?: boolean;
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
}

export interface FakeMediaHost {
  port: number;
  /** Every request, with the time it arrived (ms since epoch). */
  requests: { method: string; path: string; host: string | undefined; status: number; at: number }[];
  close: () => Promise<void>;
}

export interface FakeMediaHostOptions extends KeyPair {
  /** The media host name; e2 maps it to `bucket` (S3_ALIAS_HOST: no bucket in the URL path). */
  host: string;
  bucket: string;
  store: ObjectStore;
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
      const send = (status: number, headers: Record<string, string>, text = ""): void => {
        rec.status = status;
        const edge: Record<string, string> = {};
        if (!b.noCfRay) edge["cf-ray"] = `${(served++).toString(16).padStart(16, "0")}-FRA`;
        if (!b.noCors) edge["access-control-allow-origin"] = "*";
        res.writeHead(status, { ...edge, ...headers });
        res.end(text);
      };
      if (b.alwaysFail || requests.length <= (b.failFirst ?? 0))
        return send(502, { "content-type": "text/html" }, "<h1>502 Bad Gateway</h1>");
      if (req.headers["host"] !== opts.host)
        return send(404, { "content-type": "application/xml" }, "<Error><Code>NoSuchBucket</Code></Error>");
      const path = (req.url ?? "/").split("?")[0];
      const id = `${opts.bucket}/${path.slice(1).split("/").map(decodeURIComponent).join("/")}`;
      const xml = { "content-type": "application/xml" };
      if (path === "/") {
        if (req.method === "GET" && b.listable) {
          const keys = [...opts.store.keys()].map(
            (k) => `<Contents><Key>${k.slice(opts.bucket.length + 1)}</Key></Contents>`,
          );
          return send(
            200,
            xml,
            `<?xml version="1.0"?><ListBucketResult><Name>${opts.bucket}</Name>${keys.join("")}</ListBucketResult>`,
          );
        }
        return send(403, xml, "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>");
      }
      if (req.method === "GET") {
        const obj = opts.store.get(id);
        return obj
          ? send(200, { "content-type": "text/plain" }, obj.body)
          : send(
              404,
              xml,
              "<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>",
            );
      }
      if (req.method === "PUT" && b.anonymousPut) {
        opts.store.set(id, { body: body.toString("utf8"), headers: { ...req.headers } });
        return send(200, {});
      }
      if (req.method === "DELETE" && b.anonymousDelete) {
        opts.store.delete(id);
        return send(204, {});
      }
      // What a WAF rule allowing only GET/HEAD/OPTIONS answers.
      return send(403, { "content-type": "text/html" }, "<h1>Sorry, you have been blocked</h1>");
    })();
  });
  const port = await listen(server);
  return { port, requests, close: () => closeServer(server) };
}
