// A real S3 server for the tests: a one-node Ceph cluster (one ceph-mon, one ceph-osd on memstore, no mgr, no
// cephx) and radosgw serving S3 on 127.0.0.1 over HTTP and over HTTPS with a certificate from a test CA.
//
// Every cluster gets its own temporary directory and ports chosen free at start (mon, the OSD's range through
// ms_bind_port_min/max, radosgw's HTTP and HTTPS), so several can run at once: two test processes, or two
// checkouts on one machine. A start that loses a port race is retried with new ports.
//
// Daemons never outlive the test process: each runs in the foreground under a small `sh` watchdog that kills it
// when our end of its stdin pipe closes, which the kernel does when this process exits in any way (even
// SIGKILL). stop() (and an exit hook) kills them (the data is in memory and thrown away anyway; a graceful
// stop takes seconds) and removes the directory.
//
// Needs the Debian packages ceph-mon, ceph-osd and radosgw (`.ci/run` installs them). Starts in about 1-3 s
// and uses about 200 MB. Pitfalls handled here (see the comments below): OSD registered by the CLI before it
// boots, with the same uuid; msgr v1 only; no mgr, so no pg autoscaling.
import { execFile, execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomUUID } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HANG_LIMIT_MS } from "./hang-limit";

const BINARIES = ["ceph-mon", "ceph-osd", "radosgw", "radosgw-admin", "monmaptool", "ceph", "openssl"];
const BIN_DIRS = ["/usr/bin", "/usr/sbin", "/usr/local/bin"];
// A start takes 1-3 s on an idle machine and far longer on a busy one: what waits on the cluster is limited
// only by the hang limit. Ceph's own time-outs are half of it, so that Ceph's error, not our kill, says why.
const CEPH_TIMEOUT_SECONDS = HANG_LIMIT_MS / 2 / 1000;
const STOP_TIMEOUT_MS = 10_000;
/** Ports the OSD may bind (public, cluster, two heartbeat); a few spare. */
const OSD_PORT_COUNT = 8;

export interface CephRgwOptions {
  /**
   * `rgw dns name`: requests whose Host is `<bucket>.<dnsName>` address that bucket (virtual-host style), the
   * shape of e2's custom domain (`files.example.social` → bucket `files`). Path style keeps working.
   */
  dnsName?: string;
  /** Memory the OSD's memstore may hold, in bytes (default 1 GiB): the bench copies more than the tests. */
  memstoreBytes?: number;
}

export interface S3Key {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface CephRgw {
  /** `127.0.0.1:<https port>`: the shape of an e2 endpoint (host and port, no scheme). */
  endpointHost: string;
  /** `http://127.0.0.1:<port>` */
  httpUrl: string;
  /** `https://127.0.0.1:<port>`, served by radosgw itself with a certificate signed by `caPem`. */
  httpsUrl: string;
  /** The test CA that signed radosgw's certificate (for NODE_EXTRA_CA_CERTS or an https.Agent's `ca`). */
  caPem: string;
  /** A file holding `caPem`, for child processes (NODE_EXTRA_CA_CERTS). */
  caFile: string;
  /** Creates an S3 user with full access to what it owns; keys are random. */
  createUser(uid: string): Promise<S3Key>;
  /**
   * Adds a key of `uid` that may only read (a radosgw subuser with `--access=read`): signed GETs of what `uid`
   * owns succeed, PUT and DELETE are refused with 403 AccessDenied.
   */
  createReadOnlyKey(uid: string, name?: string): Promise<S3Key>;
  /** Runs `radosgw-admin` against this cluster (e.g. `["bucket", "list"]`); returns stdout. */
  admin(args: string[]): Promise<string>;
  /** radosgw's log so far: one `beast:` access line per request (method, path, status). */
  rgwLog(): string;
  /** Milliseconds from start() to radosgw's first answer. */
  startMs: number;
  /** Stops radosgw, the OSD and the mon, and removes the directory. Safe to call twice. */
  stop(): Promise<void>;
}

function findBinary(name: string): string | undefined {
  return BIN_DIRS.map((d) => join(d, name)).find((p) => existsSync(p));
}

/** Why a cluster cannot start here (binaries missing), or undefined if it should. */
export function cephRgwSkipReason(): string | undefined {
  const missing = BINARIES.filter((b) => !findBinary(b));
  if (missing.length === 0) return undefined;
  return `Ceph RGW not installed (missing ${missing.join(", ")}; apt-get install ceph-mon ceph-osd radosgw)`;
}

function run(file: string, args: string[], timeoutMs = HANG_LIMIT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${file} ${args.join(" ")} failed: ${error.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function listenOn(port: number): Promise<net.Server | undefined> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(undefined));
    server.listen(port, "127.0.0.1", () => resolve(server));
  });
}

async function freePort(): Promise<number> {
  const server = (await listenOn(0))!;
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return port;
}

/** A run of `count` consecutive free ports below the kernel's ephemeral range (so port-0 binds don't land there). */
async function freePortRange(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 12_000);
    const held: net.Server[] = [];
    for (let p = base; p < base + count; p++) {
      const s = await listenOn(p);
      if (!s) break;
      held.push(s);
    }
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    if (held.length === count) return base;
  }
  throw new Error(`no ${count} consecutive free ports found`);
}

/** CA and a server certificate for 127.0.0.1/localhost, made with the openssl CLI. */
function makeTls(dir: string): { caPem: string; caFile: string; serverPemFile: string } {
  const o = (args: string[]) =>
    execFileSyncQuiet(
      "openssl",
      args.map((a) => a.replaceAll("$D", dir)),
    );
  writeFileSync(join(dir, "openssl.cnf"), "[req]\ndistinguished_name = dn\n[dn]\n");
  const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-config", "$D/openssl.cnf"];
  o([
    "req",
    "-x509",
    ...ec,
    "-keyout",
    "$D/ca.key",
    "-out",
    "$D/ca.pem",
    "-days",
    "2",
    "-subj",
    "/CN=ceph-rgw test CA",
  ]);
  o(["req", "-new", ...ec, "-keyout", "$D/rgw.key", "-out", "$D/rgw.csr", "-subj", "/CN=127.0.0.1"]);
  writeFileSync(join(dir, "san.cnf"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  o(
    [
      "x509",
      "-req",
      "-in",
      "$D/rgw.csr",
      "-CA",
      "$D/ca.pem",
      "-CAkey",
      "$D/ca.key",
      "-CAcreateserial",
    ].concat(["-out", "$D/rgw.crt", "-days", "2", "-extfile", "$D/san.cnf"]),
  );
  // beast reads key and certificate from one PEM file.
  const serverPemFile = join(dir, "rgw.pem");
  writeFileSync(
    serverPemFile,
    readFileSync(join(dir, "rgw.key"), "utf8") + readFileSync(join(dir, "rgw.crt"), "utf8"),
  );
  const caFile = join(dir, "ca.pem");
  return { caPem: readFileSync(caFile, "utf8"), caFile, serverPemFile };
}

function execFileSyncQuiet(file: string, args: string[]): void {
  execFileSync(file, args, { stdio: "pipe", timeout: HANG_LIMIT_MS });
}

interface Ports {
  mon: number;
  osdBase: number;
  http: number;
  https: number;
}

function cephConf(
  dir: string,
  fsid: string,
  ports: Ports,
  serverPemFile: string,
  options: CephRgwOptions,
): string {
  return `[global]
fsid = ${fsid}
mon host = v1:127.0.0.1:${ports.mon}
mon initial members = a
# No cephx: a throw-away cluster on loopback.
auth cluster required = none
auth service required = none
auth client required = none
auth allow insecure global id reclaim = true
mon warn on insecure global id reclaim allowed = false
# msgr v1 only: one port per daemon role, and clients do not try v2 first.
ms bind msgr2 = false
ms bind ipv6 = false
ms bind port min = ${ports.osdBase}
ms bind port max = ${ports.osdBase + OSD_PORT_COUNT - 1}
public addr = 127.0.0.1
cluster addr = 127.0.0.1
run dir = ${dir}/run
admin socket = ${dir}/run/$name.$pid.asok
pid file = ${dir}/run/$name.pid
log file = ${dir}/log/$name.log
log to stderr = false
err to stderr = false
keyring = /dev/null
osd pool default size = 1
osd pool default min size = 1
mon allow pool size one = true
osd crush chooseleaf type = 0
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
mon warn on pool no redundancy = false
# Without these a single mon commits every change after about a second: start takes ~13 s.
paxos propose interval = 0.05
paxos min wait = 0.01
# Bounded instead of waiting forever when something is wrong; long enough for a busy machine.
client mount timeout = ${CEPH_TIMEOUT_SECONDS}
rados mon op timeout = ${CEPH_TIMEOUT_SECONDS}
rados osd op timeout = ${CEPH_TIMEOUT_SECONDS}
[mon.a]
mon data = ${dir}/mon
[osd.0]
osd data = ${dir}/osd
osd objectstore = memstore
memstore device bytes = ${options.memstoreBytes ?? 1073741824}
# Registered by the CLI before it boots: an OSD that registers itself can race the monmap ("wrong fsid").
osd crush update on start = false
osd class update on start = false
[client.rgw]
rgw data = ${dir}/rgw
rgw frontends = beast endpoint=127.0.0.1:${ports.http} ssl_endpoint=127.0.0.1:${ports.https} ssl_certificate=${serverPemFile}
rgw enable usage log = false
${options.dnsName ? `rgw dns name = ${options.dnsName}\n` : ""}`;
}

/** Runs `argv` in the foreground under a watchdog that kills it when our end of the stdin pipe closes. */
function spawnWatched(argv: string[], logFile: string): ChildProcess {
  const script =
    'exec 3<&0; "$@" </dev/null 3<&- & pid=$!; { read _ <&3; kill -KILL "$pid" 2>/dev/null; } & exec 3<&-; wait "$pid"';
  const log = openSync(logFile, "a");
  const child = spawn("sh", ["-c", script, "sh", ...argv], { stdio: ["pipe", log, log] });
  // A running cluster must not keep the test process alive (the shared one lives until exit): unreferenced,
  // the exit hook ends it when everything else is done.
  child.unref();
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return child;
}

/** The status radosgw answers, or undefined if it refuses or gives no answer within `timeoutMs`. */
function httpStatus(url: string, timeoutMs: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

const running = new Set<() => void>();
let hooked = false;
function hookExit() {
  if (hooked) return;
  hooked = true;
  // Synchronous last resort: closing the pipes makes every watchdog kill its daemon.
  process.once("exit", () => running.forEach((kill) => kill()));
}

async function startOnce(options: CephRgwOptions): Promise<CephRgw> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), "ceph-rgw-"));
  for (const sub of ["mon", "osd", "run", "log", "rgw"]) mkdirSync(join(dir, sub));
  const children: ChildProcess[] = [];
  // The exit hook's last resort (synchronous): the watchdogs kill the daemons; the directory goes too.
  const killAll = () => {
    for (const c of children) {
      c.stdin?.destroy();
      if (c.exitCode === null) c.kill("SIGKILL"); // the sh; its watchdog still kills the daemon
    }
    rmSync(dir, { recursive: true, force: true });
  };
  running.add(killAll);
  hookExit();

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // radosgw first, then the OSD, then the mon; each gets a bounded time to go.
    for (const child of [...children].reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const exited = new Promise((r) => child.once("exit", r));
      child.stdin?.end();
      const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    running.delete(killAll);
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    const { caPem, caFile, serverPemFile } = makeTls(dir);
    const ports: Ports = {
      mon: await freePort(),
      osdBase: await freePortRange(OSD_PORT_COUNT),
      http: await freePort(),
      https: await freePort(),
    };
    const fsid = randomUUID();
    const osdUuid = randomUUID();
    const conf = join(dir, "ceph.conf");
    writeFileSync(conf, cephConf(dir, fsid, ports, serverPemFile, options));
    const c = ["-c", conf];
    const bin = (name: string) => findBinary(name)!;
    const log = (name: string) => join(dir, "log", `${name}.out`);
    const failed = (what: string) => {
      const tail = (name: string) => {
        try {
          return readFileSync(join(dir, "log", name), "utf8")
            .split("\n")
            .slice(-15)
            .join("\n");
        } catch {
          return "";
        }
      };
      return new Error(
        `${what}\n--- mon\n${tail("mon.a.log")}\n--- osd\n${tail("osd.0.log")}\n--- rgw\n${tail("client.rgw.log")}`,
      );
    };

    await run(bin("monmaptool"), [
      "--create",
      "--fsid",
      fsid,
      "--addv",
      "a",
      `[v1:127.0.0.1:${ports.mon}]`,
      join(dir, "monmap"),
    ]);
    await run(bin("ceph-mon"), [...c, "-i", "a", "--mkfs", "--monmap", join(dir, "monmap")]);
    children.push(spawnWatched([bin("ceph-mon"), ...c, "-f", "-i", "a"], log("mon")));
    // The OSD is made known to the mon first, with the uuid its --mkfs gets; otherwise its boot is ignored.
    await run(bin("ceph"), [...c, "osd", "new", osdUuid, "0"]);
    await run(bin("ceph"), [...c, "osd", "crush", "add", "osd.0", "1.0", "root=default", "host=localhost"]);
    await run(bin("ceph-osd"), [...c, "-i", "0", "--mkfs", "--osd-uuid", osdUuid]);
    children.push(spawnWatched([bin("ceph-osd"), ...c, "-f", "-i", "0"], log("osd")));
    children.push(spawnWatched([bin("radosgw"), ...c, "-f", "-n", "client.rgw"], log("rgw")));

    const httpUrl = `http://127.0.0.1:${ports.http}`;
    const deadline = Date.now() + HANG_LIMIT_MS;
    // Each try waits longer (1 s, 2 s, … 16 s): a radosgw that answers slowly on a busy machine is still seen,
    // and a daemon that exits meanwhile is noticed within one try.
    for (let attempt = 0; ; attempt++) {
      const dead = children.find((ch) => ch.exitCode !== null);
      if (dead) throw failed(`a Ceph daemon exited during start (${dead.spawnargs.slice(4).join(" ")})`);
      if ((await httpStatus(`${httpUrl}/`, 1_000 * 2 ** Math.min(attempt, 4))) !== undefined) break;
      if (Date.now() > deadline)
        throw failed(`radosgw did not answer on ${httpUrl} within ${HANG_LIMIT_MS} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const startMs = performance.now() - started;

    // radosgw-admin is a client of the cluster too; its own name keeps its admin socket apart from radosgw's.
    const admin = (args: string[]) => run(bin("radosgw-admin"), [...c, "-n", "client.admin", ...args]);
    // Keys are generated by radosgw-admin and read from its JSON answer, so no secret is ever on a command line.
    const keyOf = (answer: string, user: string): S3Key => {
      const keys = (
        JSON.parse(answer) as { keys: { user: string; access_key: string; secret_key: string }[] }
      ).keys;
      const key = keys.find((k) => k.user === user);
      if (!key) throw new Error(`radosgw-admin returned no S3 key for ${user}`);
      return { accessKeyId: key.access_key, secretAccessKey: key.secret_key };
    };
    return {
      endpointHost: `127.0.0.1:${ports.https}`,
      httpUrl,
      httpsUrl: `https://127.0.0.1:${ports.https}`,
      caPem,
      caFile,
      startMs,
      admin,
      rgwLog: () => readFileSync(join(dir, "log", "client.rgw.log"), "utf8"),
      async createUser(uid) {
        return keyOf(await admin(["user", "create", "--uid", uid, "--display-name", uid]), uid);
      },
      async createReadOnlyKey(uid, name = "readonly") {
        const subuser = `${uid}:${name}`;
        const args = ["subuser", "create", "--uid", uid, "--subuser", subuser, "--access", "read"];
        return keyOf(await admin([...args, "--key-type", "s3", "--gen-access-key", "--gen-secret"]), subuser);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The name `rgw dns name` has in the shared cluster: `<bucket>.rgw.test` addresses a bucket by Host. */
export const SHARED_DNS_NAME = "rgw.test";
let shared: Promise<CephRgw> | undefined;

/**
 * One cluster for the whole test process, started on first use and stopped when the process exits (`npm test`
 * runs the files that use it in one process). Tests sharing it use their own users and bucket names.
 */
export function sharedCephRgw(): Promise<CephRgw> {
  shared ??= startCephRgw({ dnsName: SHARED_DNS_NAME });
  return shared;
}

/** Starts a fresh cluster; retries once with new ports if the first attempt fails (e.g. a port taken meanwhile). */
export async function startCephRgw(options: CephRgwOptions = {}): Promise<CephRgw> {
  const reason = cephRgwSkipReason();
  if (reason) throw new Error(reason);
  try {
    return await startOnce(options);
  } catch (first) {
    try {
      return await startOnce(options);
    } catch (second) {
      throw new Error(
        `Ceph RGW did not start twice.\nFirst: ${(first as Error).message}\nSecond: ${(second as Error).message}`,
        { cause: second },
      );
    }
  }
}
