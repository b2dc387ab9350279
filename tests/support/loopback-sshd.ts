// A real OpenSSH server on 127.0.0.1 for the tests that stand in for the Mastodon server: its own host key,
// one client key authorized for the current user, and a fixed environment for sessions (SetEnv), so a test
// decides the "host's" PATH, TMPDIR and CA settings. Stopped by stop(), or when the test process exits.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { HANG_LIMIT_MS } from "./hang-limit";

const SSHD = "/usr/sbin/sshd";

/** Why no loopback sshd can run here, or undefined when it can. */
export function sshdSkipReason(): string | undefined {
  if (!fs.existsSync(SSHD)) return `${SSHD} is not installed (package openssh-server)`;
  const missing = ["ssh", "ssh-keygen"].filter(
    (cmd) => spawnSync(cmd, cmd === "ssh" ? ["-V"] : ["-?"], { stdio: "ignore" }).error !== undefined,
  );
  return missing.length ? "the OpenSSH client (ssh, ssh-keygen) is not installed" : undefined;
}

export interface LoopbackSshd {
  port: number;
  user: string;
  dir: string;
  /** The client's private key file and its text (OpenSSH format). */
  clientKeyFile: string;
  clientKey: string;
  /** The server's public host key, `ssh-ed25519 AAAA…` without comment. */
  hostKey: string;
  /** A known_hosts file naming `[127.0.0.1]:<port>` with the host key. */
  knownHostsFile: string;
  /** What sshd logged so far. */
  log(): string;
  stop(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Resolves once the server at port sends its SSH banner; rejects as soon as sshd exits, or at the hang limit.
 * Each try waits for the banner or the end of its connection, however long a busy machine takes to send it.
 */
async function waitForBanner(port: number, sshd: ChildProcess): Promise<void> {
  const deadline = Date.now() + HANG_LIMIT_MS;
  while (Date.now() < deadline) {
    if (sshd.exitCode !== null || sshd.signalCode !== null) throw new Error("sshd exited before it answered");
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      const done = (v: boolean) => {
        socket.destroy();
        resolve(v);
      };
      socket.once("data", (d) => done(d.toString().startsWith("SSH-")));
      socket.once("close", () => done(false));
      socket.once("error", () => done(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not answer on 127.0.0.1:${port} within ${HANG_LIMIT_MS} ms`);
}

/** Starts sshd; `setEnv` is given to every session (PATH first, as the "host's" own). */
export async function startLoopbackSshd(setEnv: Record<string, string>): Promise<LoopbackSshd> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "loopback-sshd-"));
  const user = os.userInfo().username;
  const keygen = (file: string) =>
    spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", file], { timeout: HANG_LIMIT_MS });
  keygen(path.join(dir, "host_ed25519"));
  keygen(path.join(dir, "client_ed25519"));
  fs.copyFileSync(path.join(dir, "client_ed25519.pub"), path.join(dir, "authorized_keys"));
  // sshd as root separates privileges into this directory; the openssh-server service normally makes it.
  if (process.getuid?.() === 0 && !fs.existsSync("/run/sshd")) fs.mkdirSync("/run/sshd", { mode: 0o755 });

  const port = await freePort();
  const config = path.join(dir, "sshd_config");
  const env = Object.entries(setEnv)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ");
  fs.writeFileSync(
    config,
    [
      `Port ${port}`,
      "ListenAddress 127.0.0.1",
      `HostKey ${path.join(dir, "host_ed25519")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AllowUsers ${user}`,
      "StrictModes no",
      "UsePAM no",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PubkeyAuthentication yes",
      "PermitRootLogin prohibit-password",
      ...(env ? [`SetEnv ${env}`] : []),
      "",
    ].join("\n"),
  );
  const logFile = path.join(dir, "sshd.log");
  const logFd = fs.openSync(logFile, "w");
  const sshd: ChildProcess = spawn(SSHD, ["-D", "-e", "-f", config], { stdio: ["ignore", logFd, logFd] });
  fs.closeSync(logFd);
  const stop = () => {
    if (sshd.pid !== undefined && sshd.exitCode === null) sshd.kill("SIGTERM");
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", stop);
  const hostKey = fs
    .readFileSync(path.join(dir, "host_ed25519.pub"), "utf8")
    .split(" ")
    .slice(0, 2)
    .join(" ");
  const knownHostsFile = path.join(dir, "known_hosts");
  fs.writeFileSync(knownHostsFile, `[127.0.0.1]:${port} ${hostKey}\n`);
  const log = () => fs.readFileSync(logFile, "utf8");
  try {
    await waitForBanner(port, sshd);
  } catch (e) {
    const said = log();
    stop();
    throw new Error(`${(e as Error).message}; sshd said: ${said}`, { cause: e });
  }
  const clientKeyFile = path.join(dir, "client_ed25519");
  return {
    port,
    user,
    dir,
    clientKeyFile,
    clientKey: fs.readFileSync(clientKeyFile, "utf8"),
    hostKey,
    knownHostsFile,
    log,
    stop,
  };
}
