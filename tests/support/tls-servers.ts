// Real TLS servers on 127.0.0.1 for the CNAME probe tests, playing an e2 endpoint: a default certificate
// for unknown names, and per-domain certificates chosen by SNI once a domain is "registered".
// Certificates are made here with the openssl CLI, fresh for every run.
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import { HANG_LIMIT_MS } from "./hang-limit";

/** A certificate with its key, as PEM, plus its SHA-256 fingerprint in `AB:CD:…` form. */
export interface TestCertificate {
  certificatePem: string;
  privateKeyPem: string;
  sha256: string;
}

/**
 * Makes a self-signed certificate for `names` (host names or IP addresses; the first is also the CN). `ec`
 * keys keep the tests fast;
 * `rsa` matches Cloudflare's default `origin-rsa` request type.
 */
export function makeCertificate(names: string[], keyType: "ec" | "rsa" = "ec"): TestCertificate {
  const dir = mkdtempSync(join(tmpdir(), "tls-servers-"));
  try {
    const keyArgs =
      keyType === "ec" ? ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] : ["-newkey", "rsa:2048"];
    const config = join(dir, "openssl.cnf");
    // A minimal config file so the result does not depend on the machine's openssl.cnf.
    writeFileSync(config, "[req]\ndistinguished_name = dn\n[dn]\n");
    execFileSync(
      "openssl",
      [
        "req",
        "-x509",
        ...keyArgs,
        "-nodes",
        "-config",
        config,
        "-keyout",
        join(dir, "key.pem"),
        "-out",
        join(dir, "cert.pem"),
        "-days",
        "2",
        "-subj",
        `/CN=${names[0]}`,
        "-addext",
        `subjectAltName=${names.map((n) => `${net.isIP(n) ? "IP" : "DNS"}:${n}`).join(",")}`,
      ],
      { stdio: "pipe", timeout: HANG_LIMIT_MS },
    );
    const certificatePem = readFileSync(join(dir, "cert.pem"), "utf8");
    const privateKeyPem = readFileSync(join(dir, "key.pem"), "utf8");
    // The fingerprint comes from openssl too, so tests compare the code under test with an independent tool.
    const fingerprint = execFileSync(
      "openssl",
      ["x509", "-noout", "-fingerprint", "-sha256", "-in", join(dir, "cert.pem")],
      { encoding: "utf8", timeout: HANG_LIMIT_MS },
    );
    const sha256 = /=([0-9A-F:]+)\s*$/.exec(fingerprint)?.[1];
    if (!sha256) throw new Error(`unexpected openssl fingerprint output: ${fingerprint}`);
    return { certificatePem, privateKeyPem, sha256 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** What a running {@link SniServer} has seen so far. */
export interface SniServerStats {
  /** Completed TLS handshakes. */
  handshakes: number;
  /** SNI names asked for, in order (handshakes without SNI are recorded as ""). */
  servernames: string[];
  /** Application-data bytes received from clients after the handshake. */
  applicationBytesReceived: number;
}

/** A TLS server on 127.0.0.1 that picks its certificate by SNI, like an e2 endpoint does. */
export interface SniServer {
  port: number;
  stats: SniServerStats;
  /** Serve `cert` for `pattern` (`*.example.test` matches exactly one extra label, like a wildcard CNAME). */
  register(pattern: string, cert: TestCertificate): void;
  /** Stop serving a registered pattern: those names get the default certificate again. */
  unregister(pattern: string): void;
  /**
   * Resolves once the server has counted `count` completed handshakes. A client may finish its side of a
   * handshake a moment before the server does, so tests wait here before reading {@link stats}.
   */
  waitForHandshakes(count: number): Promise<void>;
  /**
   * Resolves once no client connection is open. After a client has finished and closed its connections,
   * {@link stats} then holds everything they sent: each handshake and byte is counted before its close.
   */
  idle(): Promise<void>;
  close(): Promise<void>;
}

function secureContext(cert: TestCertificate): tls.SecureContext {
  return tls.createSecureContext({ cert: cert.certificatePem, key: cert.privateKeyPem });
}

function matches(pattern: string, servername: string): boolean {
  const name = servername.toLowerCase();
  const p = pattern.toLowerCase();
  if (!p.startsWith("*.")) return name === p;
  const suffix = p.slice(1);
  return name.endsWith(suffix) && !name.slice(0, -suffix.length).includes(".") && name.length > suffix.length;
}

/** Starts a TLS server on an ephemeral loopback port serving `defaultCert` unless a registered pattern matches. */
export async function startSniServer(defaultCert: TestCertificate): Promise<SniServer> {
  const registered = new Map<string, tls.SecureContext>();
  const stats: SniServerStats = { handshakes: 0, servernames: [], applicationBytesReceived: 0 };
  const sockets = new Set<net.Socket>();
  // Waiters re-checked whenever a handshake completes or a connection closes.
  const waiters = new Set<() => boolean>();
  const recheck = () => waiters.forEach((ready) => ready() && waiters.delete(ready));
  const waitUntil = (condition: () => boolean, what: () => string): Promise<void> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        waiters.delete(ready);
        reject(new Error(what()));
      }, HANG_LIMIT_MS);
      const ready = () => {
        if (!condition()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      if (!ready()) waiters.add(ready);
    });
  const server = tls.createServer({
    cert: defaultCert.certificatePem,
    key: defaultCert.privateKeyPem,
    SNICallback: (servername, callback) => {
      for (const [pattern, context] of registered) {
        if (matches(pattern, servername)) return callback(null, context);
      }
      callback(null, undefined); // fall back to the default certificate
    },
  });
  server.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.on("close", () => {
      sockets.delete(socket);
      recheck();
    });
  });
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    stats.handshakes += 1;
    stats.servernames.push(typeof socket.servername === "string" ? socket.servername : "");
    socket.on("data", (chunk: Buffer) => (stats.applicationBytesReceived += chunk.length));
    socket.on("error", () => undefined); // clients hang up right after the handshake
    recheck();
  });
  server.on("tlsClientError", () => undefined);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    stats,
    register: (pattern, cert) => void registered.set(pattern, secureContext(cert)),
    waitForHandshakes: (count) =>
      waitUntil(
        () => stats.handshakes >= count,
        () => `server saw ${stats.handshakes} handshakes, expected ${count}`,
      ),
    idle: () =>
      waitUntil(
        () => sockets.size === 0,
        () => `${sockets.size} client connections still open`,
      ),
    unregister: (pattern) => void registered.delete(pattern),
    close: () => closeServer(server, sockets),
  };
}

/** A TCP server on loopback that accepts connections and never says anything (a stuck endpoint). */
export async function startSilentServer(): Promise<{
  port: number;
  accepted: () => number;
  close(): Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((socket) => {
    accepted += 1;
    sockets.add(socket);
    socket.on("error", () => undefined);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    accepted: () => accepted,
    close: () => closeServer(server, sockets),
  };
}

/**
 * A loopback listener whose TCP connects never complete: a socket listening with a backlog of 0 that never
 * accepts, its one queue place taken by a first connection. Linux then drops further SYNs, so a connect waits
 * until the caller's own time-out (the loopback form of an unanswered SYN; no traffic leaves the machine).
 * Node accepts every connection itself, so the listener is a python3 child (python3 is on every machine of
 * this kind).
 */
export async function startUnansweredConnectListener(): Promise<{ port: number; close(): Promise<void> }> {
  const script =
    "import socket,sys\n" +
    "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(0)\n" +
    "print(s.getsockname()[1], flush=True)\n" +
    "sys.stdin.read()\n";
  const child = spawn("python3", ["-c", script], { stdio: ["pipe", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    child.once("error", (e) => reject(new Error(`python3 is needed for this listener: ${e.message}`)));
    child.stdout!.once("data", (d) => resolve(Number(String(d).trim())));
  });
  // Take the one place in the accept queue; it is never accepted, so every later connect hangs.
  const filler = net.connect(port, "127.0.0.1");
  filler.on("error", () => undefined);
  await new Promise<void>((resolve) => filler.once("connect", () => resolve()));
  return {
    port,
    close: async () => {
      filler.destroy();
      const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      child.stdin!.end();
      await exited;
    },
  };
}

/** A loopback port with nothing listening on it (connections are refused). */
export async function refusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

function closeServer(server: net.Server, sockets: Set<net.Socket>): Promise<void> {
  for (const socket of sockets) socket.destroy();
  return new Promise<void>((resolve) => server.close(() => resolve()));
}
