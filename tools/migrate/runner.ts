// Where rclone runs: here (a directory on this machine, another provider's bucket), or on the Mastodon server
// over SSH (`--from host`), so the media goes from the server straight to e2.
//
// Over SSH: the OpenSSH client, the host key checked against a known_hosts made from mastodonHost.hostKey only
// (StrictHostKeyChecking=yes: never trust on first use), the private key held by an ssh-agent this tool starts
// and fed to it on stdin (`ssh-add -`), so it is never on a command line nor in a file. The remote command is
// `sh -s`; the script, with rclone's configuration and keys, travels on the channel's stdin.
import { spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { shQuote } from "../../components/mastodon-env-push";
import { MigrateError } from "./errors";
import { passedThrough } from "./rclone-env";
import type { HostTarget } from "./stack";

/** Lines the child printed, delivered as they come. */
export type LineSink = (line: string) => void;

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last lines of stderr that were not rclone's JSON log (ssh's or the shell's own words). */
  plainTail: string[];
}

export interface Runner {
  /** "here" or "host": names the side in messages. */
  readonly where: "here" | "host";
  /** Runs `rclone <args>` with `env` added to a minimal environment. */
  rclone(args: string[], env: Record<string, string>, onOut: LineSink, onErr: LineSink): Promise<RunResult>;
  close(): Promise<void>;
}

/** What the remote script prints when rclone is missing on the host. */
const NO_RCLONE = "MASTODON_MEDIA_NO_RCLONE";
export const INSTALL_RCLONE = "apt install rclone";
const TAIL_LINES = 5;

function splitLines(stream: NodeJS.ReadableStream, sink: LineSink): void {
  let rest = "";
  stream.setEncoding("utf8");
  stream.on("data", (chunk: string) => {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop()!;
    for (const p of parts) sink(p);
  });
  stream.on("end", () => {
    if (rest) sink(rest);
  });
}

/** Runs a child, streaming its lines; resolves with how it ended. */
function watch(child: ChildProcess, onOut: LineSink, onErr: LineSink, input?: string): Promise<RunResult> {
  const plainTail: string[] = [];
  splitLines(child.stdout!, onOut);
  splitLines(child.stderr!, (line) => {
    if (!line.startsWith("{")) {
      plainTail.push(line);
      if (plainTail.length > TAIL_LINES) plainTail.shift();
    }
    onErr(line);
  });
  if (input !== undefined) {
    child.stdin!.on("error", () => {}); // the remote may stop reading early (exec, or a refused login)
    child.stdin!.end(input);
  }
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code, signal) => resolve({ code, signal, plainTail }));
  });
}

/** rclone on this machine. */
export function localRunner(env: NodeJS.ProcessEnv = process.env): Runner {
  return {
    where: "here",
    async rclone(args, extra, onOut, onErr) {
      const child = spawn("rclone", args, {
        env: { ...passedThrough(env), ...extra },
        stdio: ["ignore", "pipe", "pipe"],
      });
      try {
        return await watch(child, onOut, onErr);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT")
          throw new MigrateError(
            `rclone is not installed on this machine: ${INSTALL_RCLONE}, then run this again`,
          );
        throw e;
      }
    },
    async close() {},
  };
}

/** The script run by `sh -s` on the host: check rclone, set its environment, run it. */
export function hostScript(args: string[], env: Record<string, string>): string {
  return [
    `command -v rclone >/dev/null 2>&1 || { echo ${NO_RCLONE} >&2; exit 127; }`,
    // rclone 1.60 refuses to start an s3 remote while AWS_CA_BUNDLE is set (FACTS.md).
    "unset AWS_CA_BUNDLE",
    ...Object.entries(env).map(([k, v]) => `export ${k}=${shQuote(v)}`),
    `exec rclone ${args.map(shQuote).join(" ")} </dev/null`,
    "",
  ].join("\n");
}

/** What ssh's last words mean, as a message naming the host and what to do; undefined when not ssh's. */
export function sshProblem(tail: string[], where: string): string | undefined {
  const said = tail.join(" ");
  if (/Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED/.test(said))
    return `host: ${where} presented a host key other than mastodonHost.hostKey; nothing was done. Check the key (ssh-keyscan, or /etc/ssh/ssh_host_ed25519_key.pub on the server)`;
  if (/Permission denied|Too many authentication failures/.test(said))
    return `host: ${where} refused the login with mastodonHostSshKey: check mastodonHost.user and that the key's public half is in that user's authorized_keys`;
  if (
    /Connection refused|Connection timed out|No route to host|Could not resolve|Network is unreachable|Connection closed|timed out/.test(
      said,
    )
  )
    return `host: cannot reach ${where} over SSH (${said.trim()}): check mastodonHost.host and mastodonHost.port, and that sshd runs there`;
  return undefined;
}

/** Starts an ssh-agent holding the key; resolves with its socket and a way to stop it. */
async function startAgent(dir: string, privateKey: string): Promise<{ sock: string; stop: () => void }> {
  const sock = path.join(dir, "agent.sock");
  const agent = spawn("ssh-agent", ["-D", "-a", sock], { stdio: ["ignore", "pipe", "pipe"] });
  const stop = () => {
    if (agent.exitCode === null && agent.signalCode === null) agent.kill("SIGTERM");
  };
  // The agent holds the key: it never outlives this process, however the process ends short of SIGKILL.
  process.once("exit", stop);
  await new Promise<void>((resolve, reject) => {
    agent.once("error", (e) =>
      reject(
        new MigrateError(
          `the OpenSSH client (ssh-agent) is not available on this machine: ${(e as Error).message}`,
        ),
      ),
    );
    agent.once("exit", () => reject(new MigrateError("ssh-agent stopped before it started")));
    // It prints SSH_AUTH_SOCK=… once its socket listens.
    agent.stdout!.once("data", () => resolve());
  });
  const key = privateKey.endsWith("\n") ? privateKey : `${privateKey}\n`;
  const add = spawn("ssh-add", ["-q", "-"], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SSH_AUTH_SOCK: sock },
    stdio: ["pipe", "pipe", "pipe"],
  });
  const added = await watch(
    add,
    () => {},
    () => {},
    key,
  );
  if (added.code !== 0) {
    stop();
    throw new MigrateError(
      "host: mastodonHostSshKey is not a private key ssh-add accepts (an unencrypted OpenSSH or PEM key)",
    );
  }
  return { sock, stop };
}

/** rclone on the Mastodon server, over SSH. */
export async function hostRunner(host: HostTarget): Promise<Runner> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "mastodon-media-migrate-"));
  // The host key given in the stack is the only one accepted, under an alias so host and port need no escaping.
  const alias = "mastodon-media-host";
  const knownHosts = path.join(dir, "known_hosts");
  fs.writeFileSync(knownHosts, `${alias} ${host.hostKey}\n`, { mode: 0o600 });
  let agent: { sock: string; stop: () => void };
  try {
    agent = await startAgent(dir, host.privateKey);
  } catch (e) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const where = `${host.user}@${host.host}:${host.port}`;
  const sshArgs = [
    "-F",
    "/dev/null",
    "-p",
    String(host.port),
    "-l",
    host.user,
    "-o",
    "BatchMode=yes",
    "-o",
    "StrictHostKeyChecking=yes",
    "-o",
    `UserKnownHostsFile=${knownHosts}`,
    "-o",
    "GlobalKnownHostsFile=/dev/null",
    "-o",
    `HostKeyAlias=${alias}`,
    "-o",
    "ConnectTimeout=20",
    // A copy runs for hours: notice a dead connection instead of waiting forever.
    "-o",
    "ServerAliveInterval=30",
    "-o",
    "LogLevel=ERROR",
    host.host,
    "sh -s",
  ];
  return {
    where: "host",
    async rclone(args, env, onOut, onErr) {
      const child = spawn("ssh", sshArgs, {
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", SSH_AUTH_SOCK: agent.sock },
        stdio: ["pipe", "pipe", "pipe"],
      });
      let result: RunResult;
      try {
        result = await watch(child, onOut, onErr, hostScript(args, env));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === "ENOENT")
          throw new MigrateError("the OpenSSH client (ssh) is not installed on this machine");
        throw e;
      }
      if (result.code === 127 && result.plainTail.includes(NO_RCLONE))
        throw new MigrateError(
          `host: rclone is not installed on ${host.host}. Install it there (\`${INSTALL_RCLONE}\`) and run this again; nothing was done`,
        );
      if (result.code === 255) {
        const problem = sshProblem(result.plainTail, where);
        if (problem) throw new MigrateError(problem);
      }
      return result;
    },
    async close() {
      agent.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
