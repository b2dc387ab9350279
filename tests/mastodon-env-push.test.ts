// MastodonEnvPush: (1) the registered remote Command under Pulumi's mocks; (2) the exact command string it
// sends, run over real SSH against an sshd this test starts on 127.0.0.1, with restart shims standing in for
// systemctl/sudo/docker on that "host". The Go ssh client inside the command provider can't run here (no
// plugin); the OpenSSH client sends the same exec request: the command string as is, the block on stdin.
// The local-media check inside that command requests files from a real HTTPS server on loopback
// (tests/support/media-files-server.ts), whose test CA curl on the "host" trusts through CURL_CA_BUNDLE.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import {
  buildEnvPushCommand,
  DEFAULT_ENV_FILE,
  defaultLocalMediaDir,
  MastodonEnvPush,
  readCheckLocalMediaScript,
  readMergeEnvScript,
  restartCommand,
  type MastodonEnvPushArgs,
  type MastodonRestart,
} from "../components/mastodon-env-push";
import { Command as LocalCommand } from "@pulumi/command/local/command";
import { HANG_LIMIT_MS } from "./support/hang-limit";
import { normalizeHostKey } from "../components/config/ssh-host-key";
import { startLoopbackSshd, sshdSkipReason, type LoopbackSshd } from "./support/loopback-sshd";
import { startMediaFilesServer, type MediaFilesServer } from "./support/media-files-server";
import {
  installRecordingMocks,
  plaintextOccurrences,
  runInMockStack,
  type MockRunResult,
  type Registration,
} from "./support/mock-run";

const PRIVATE_KEY =
  "-----BEGIN OPENSSH PRIVATE KEY-----\nmock-ssh-key-material\n-----END OPENSSH PRIVATE KEY-----\n";
const SECRET_VALUE = "e2-secret-value-0123456789";
const ENV_BLOCK = `S3_ENABLED=true\nS3_BUCKET=files\nAWS_ACCESS_KEY_ID=KEYID\nAWS_SECRET_ACCESS_KEY=${SECRET_VALUE}\n`;
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

/** Everything but the media check, which needs a resource made inside the mock stack. */
const BASE_ARGS = {
  host: "mastodon.example.social",
  user: "mastodon",
  privateKey: PRIVATE_KEY,
  envBlock: ENV_BLOCK,
  hostKey: HOST_KEY,
  mediaHost: "files.example.social",
  bucket: "files",
  e2Endpoint: "s3.eu-central-2.idrivee2.com",
};

async function build(extra: Partial<MastodonEnvPushArgs> = {}): Promise<MockRunResult> {
  const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
  await runInMockStack(() => {
    const check = new LocalCommand("media-check", { create: "true" });
    new MastodonEnvPush("mastodon", {
      ...BASE_ARGS,
      privateKey: pulumi.secret(PRIVATE_KEY),
      envBlock: pulumi.secret(ENV_BLOCK),
      mediaCheck: check,
      ...extra,
    });
  });
  return record;
}

function only(r: MockRunResult, type: string): Registration {
  const found = r.registrations.filter((x) => x.type === type);
  assert.equal(found.length, 1, `expected one ${type}, got ${found.length}`);
  return found[0];
}
const remoteCommand = (r: MockRunResult) => only(r, "command:remote:Command");

describe("MastodonEnvPush under mocks", () => {
  it("registers the component and exactly one remote Command, named after it and parented to it", async () => {
    const r = await build();
    const component = only(r, "mastodon-media:mastodon:EnvPush");
    const cmd = remoteCommand(r);
    assert.equal(component.name, "mastodon");
    assert.equal(cmd.name, "mastodon-merge");
    assert.equal(cmd.parentUrn, component.urn);
    // The component, its command, and the stand-in media check.
    assert.equal(r.registrations.filter((x) => x.type !== "pulumi:pulumi:Stack").length, 3);
  });

  it("waits for the media check it is given", async () => {
    const r = await build();
    const check = only(r, "command:local:Command");
    assert.ok(remoteCommand(r).options.dependencies.includes(check.urn));
  });

  it("waits for the media check and for what the caller's dependsOn names", async () => {
    const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
    await runInMockStack(() => {
      const check = new LocalCommand("media-check", { create: "true" });
      const other = new LocalCommand("other", { create: "true" });
      new MastodonEnvPush("mastodon", { ...BASE_ARGS, mediaCheck: check }, { dependsOn: [other] });
    });
    const deps = remoteCommand(record).options.dependencies;
    for (const name of ["media-check", "other"]) {
      const urn = record.registrations.find((x) => x.name === name)!.urn;
      assert.ok(deps.includes(urn), `${name} not waited for`);
    }
  });

  it("connects with the given host and user on port 22 by default, with the key inside a secret", async () => {
    const cmd = remoteCommand(await build());
    const connection = cmd.inputs.connection as Record<string, unknown>;
    assert.equal(connection.host, "mastodon.example.social");
    assert.equal(connection.user, "mastodon");
    assert.equal(connection.port, 22);
    assert.equal(connection.privateKey, PRIVATE_KEY);
    assert.ok(cmd.secretInputs.includes("connection"));
    assert.deepEqual(plaintextOccurrences(cmd.wireInputs, "mock-ssh-key-material"), []);
  });

  it("uses the given port and checks the given host key", async () => {
    const cmd = remoteCommand(await build({ port: 2222 }));
    const connection = cmd.inputs.connection as Record<string, unknown>;
    assert.equal(connection.port, 2222);
    assert.equal(connection.hostKey, HOST_KEY);
  });

  it("sends the env block on stdin as a secret and keeps it secret in state", async () => {
    const cmd = remoteCommand(await build());
    assert.equal(cmd.inputs.stdin, ENV_BLOCK);
    assert.ok(cmd.secretInputs.includes("stdin"));
    assert.ok(cmd.options.additionalSecretOutputs.includes("stdin"));
    assert.deepEqual(plaintextOccurrences(cmd.wireInputs, SECRET_VALUE), []);
  });

  it("the block is secret even when the caller passes it as a plain string", async () => {
    const cmd = remoteCommand(await build({ envBlock: ENV_BLOCK, privateKey: PRIVATE_KEY }));
    assert.ok(cmd.secretInputs.includes("stdin"));
    assert.deepEqual(plaintextOccurrences(cmd.wireInputs, SECRET_VALUE), []);
    assert.deepEqual(plaintextOccurrences(cmd.wireInputs, "mock-ssh-key-material"), []);
  });

  it("runs the same built command on create and update: default env file and media directory, systemd", async () => {
    const cmd = remoteCommand(await build());
    const expected = buildEnvPushCommand({
      envFile: DEFAULT_ENV_FILE,
      restart: "systemd",
      mergeScript: readMergeEnvScript(),
      localMediaDir: "/home/mastodon/live/public/system",
      checkScript: readCheckLocalMediaScript(),
      mediaBaseUrl: "https://files.example.social",
      bucket: "files",
      e2Endpoint: "s3.eu-central-2.idrivee2.com",
    });
    assert.equal(cmd.inputs.create, expected);
    assert.equal(cmd.inputs.update, expected);
    assert.equal(cmd.inputs.delete, undefined);
  });

  it("turns off the previous-output environment variables, which need AcceptEnv on the server", async () => {
    assert.equal(remoteCommand(await build()).inputs.addPreviousOutputInEnv, false);
  });

  for (const [restart, expected] of [
    ["systemd", "systemctl restart mastodon-web mastodon-sidekiq"],
    ["docker-compose", "(cd '/srv/mastodon' && docker compose up -d --no-deps --force-recreate web sidekiq)"],
  ] as const) {
    it(`restart "${restart}" puts its restart command in the remote command`, async () => {
      const cmd = remoteCommand(await build({ restart, envFile: "/srv/mastodon/.env.production" }));
      assert.ok((cmd.inputs.create as string).includes(expected), cmd.inputs.create as string);
      assert.ok((cmd.inputs.create as string).includes("'/srv/mastodon/.env.production'"));
    });
  }

  it('restart "none" runs no restart command at all', async () => {
    const create = remoteCommand(await build({ restart: "none" })).inputs.create as string;
    const afterScript = create.slice(create.lastIndexOf("MASTODON_MEDIA_MERGE_ENV_SH"));
    assert.doesNotMatch(afterScript, /systemctl|docker|restart-pending/);
  });

  it("checks local media under the directory given, or not at all with false", async () => {
    const given = remoteCommand(await build({ localMediaDir: "/srv/media/system" })).inputs.create as string;
    assert.ok(
      given.includes(`sh "$mm_check" '/srv/media/system' 'https://files.example.social' 'files'`),
      given,
    );
    const off = remoteCommand(await build({ localMediaDir: false })).inputs.create as string;
    assert.ok(!off.includes("mm_check") && !off.includes("MASTODON_MEDIA_CHECK_LOCAL_MEDIA_SH"), off);
  });

  it("the default media directory is public/system next to the env file", () => {
    assert.equal(
      defaultLocalMediaDir("/home/mastodon/live/.env.production"),
      "/home/mastodon/live/public/system",
    );
    assert.equal(defaultLocalMediaDir("/srv/mastodon/.env.production"), "/srv/mastodon/public/system");
  });

  it("rejects a relative env file path, an unknown restart mode, no host key and no media check before registering anything", async () => {
    const r = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
    assert.throws(
      () =>
        new MastodonEnvPush("bad", {
          ...BASE_ARGS,
          hostKey: "",
          mediaCheck: undefined as unknown as pulumi.Resource,
          envFile: "live/.env.production",
          restart: "runit" as MastodonRestart,
        }),
      (e: unknown) =>
        pulumi.InputPropertiesError.isInstance(e) &&
        e.errors.map((x) => x.propertyPath).join() === "envFile,restart,hostKey,mediaCheck",
    );
    assert.equal(r.registrations.length, 0);
  });
});

describe("buildEnvPushCommand", () => {
  const script = readMergeEnvScript();

  it("ships the merge script verbatim in a quoted here-document", () => {
    const cmd = buildEnvPushCommand({ envFile: DEFAULT_ENV_FILE, restart: "systemd", mergeScript: script });
    const start =
      cmd.indexOf("<<'MASTODON_MEDIA_MERGE_ENV_SH'\n") + "<<'MASTODON_MEDIA_MERGE_ENV_SH'\n".length;
    const end = cmd.indexOf("\nMASTODON_MEDIA_MERGE_ENV_SH\n", start);
    assert.equal(cmd.slice(start, end + 1), script);
  });

  it("refuses a script holding the here-document's end line", () => {
    assert.throws(
      () =>
        buildEnvPushCommand({
          envFile: "/x",
          restart: "none",
          mergeScript: "a\nMASTODON_MEDIA_MERGE_ENV_SH\n",
        }),
      /here-document/,
    );
  });

  it("quotes an env file path with spaces and quotes for the shell", () => {
    const cmd = buildEnvPushCommand({
      envFile: "/srv/it's live/.env",
      restart: "docker-compose",
      mergeScript: script,
    });
    assert.ok(cmd.includes(`sh "$mm_script" '/srv/it'\\''s live/.env'`));
    assert.equal(
      restartCommand("docker-compose", "/srv/it's live/.env")?.startsWith(`(cd '/srv/it'\\''s live' &&`),
      true,
    );
  });
});

// The SSH test below runs the command under this machine's login shell (bash); a Mastodon host's user may
// have dash or busybox sh instead, so the whole command also runs under those, locally, with restart "none".
for (const shell of [["dash"], ["busybox", "sh"]]) {
  const missing = spawnSync(shell[0], ["-c", "true"], { stdio: "ignore" }).error
    ? `${shell[0]} is not installed`
    : "";
  it(
    `the command merges and then reports unchanged under ${shell.join(" ")} -c` +
      (missing && ` (skipped: ${missing})`),
    { skip: missing || undefined },
    () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), "env-push-shell-"));
      try {
        const file = path.join(dir, ".env.production");
        fs.writeFileSync(file, "LOCAL_DOMAIN=example.social\n");
        const cmd = buildEnvPushCommand({
          envFile: file,
          restart: "none",
          mergeScript: readMergeEnvScript(),
        });
        const run = () =>
          spawnSync(shell[0], [...shell.slice(1), "-c", cmd], {
            input: ENV_BLOCK,
            encoding: "utf8",
            timeout: HANG_LIMIT_MS,
            env: { PATH: process.env.PATH, TMPDIR: dir },
          });
        const first = run();
        assert.equal(first.status, 0, first.stderr);
        assert.match(first.stdout, /^changed \S+\nmastodon-media: restart is off/);
        assert.ok(fs.readFileSync(file, "utf8").includes(ENV_BLOCK));
        assert.equal(run().stdout, "unchanged\n");
        // Only the env file and one backup: the script's temporary copy is gone.
        assert.equal(fs.readdirSync(dir).length, 2);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    },
  );
}

// The whole command with the local-media check, under the same shells, against a real HTTPS media host on
// loopback (curl on the "host" trusts its test CA through CURL_CA_BUNDLE).
describe("the command with the local-media check, run locally", () => {
  let media: MediaFilesServer;
  let dir: string;
  before(async () => {
    media = await startMediaFilesServer();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "env-push-media-"));
  });
  after(async () => {
    await media.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const shell of [["dash"], ["busybox", "sh"]]) {
    const missing = spawnSync(shell[0], ["-c", "true"], { stdio: "ignore" }).error
      ? `${shell[0]} is not installed`
      : spawnSync("curl", ["--version"], { stdio: "ignore" }).error
        ? "curl is not installed"
        : "";
    it(
      `under ${shell.join(" ")}: refuses while local media is missing, leaving the file alone; merges once it is copied` +
        (missing && ` (skipped: ${missing})`),
      { skip: missing || undefined },
      async () => {
        const live = path.join(dir, shell[0]);
        const files = [
          `accounts/avatars/000/000/001/original/${shell[0]}.png`,
          `media_attachments/files/1/original/${shell[0]}.jpg`,
        ];
        for (const f of files) {
          fs.mkdirSync(path.dirname(path.join(live, "public", "system", f)), { recursive: true });
          fs.writeFileSync(path.join(live, "public", "system", f), "media");
        }
        const file = path.join(live, ".env.production");
        fs.writeFileSync(file, ORIGINAL_LOCAL);
        const cmd = buildEnvPushCommand({
          envFile: file,
          restart: "none",
          mergeScript: readMergeEnvScript(),
          localMediaDir: defaultLocalMediaDir(file),
          checkScript: readCheckLocalMediaScript(),
          mediaBaseUrl: media.baseUrl,
          bucket: "files",
          e2Endpoint: "s3.eu-central-2.idrivee2.com",
        });
        const run = () => runShell(shell, cmd, ENV_BLOCK, { CURL_CA_BUNDLE: media.caFile, TMPDIR: dir });

        media.keys.add(files[0]); // one of two copied
        const refused = await run();
        assert.equal(refused.code, 1, refused.stderr);
        assert.match(refused.stderr, /1 of 2 sampled files/);
        // Counted by prefix; no file is named (deploy logs are often public).
        assert.match(refused.stderr, /^ {2}media_attachments\/files\/: 1 \(/m);
        for (const f of files)
          assert.ok(!refused.stderr.includes(f) && !refused.stderr.includes(path.basename(f)));
        assert.ok(
          refused.stderr.includes(`aws s3 sync '${path.join(live, "public", "system")}/' 's3://files/'`),
        );
        assert.equal(fs.readFileSync(file, "utf8"), ORIGINAL_LOCAL);
        assert.deepEqual(fs.readdirSync(live).sort(), [".env.production", "public"]);

        media.keys.add(files[1]);
        const merged = await run();
        assert.equal(merged.code, 0, merged.stderr);
        assert.match(
          merged.stdout,
          /^mastodon-media: local media: all 2 sampled files of the 2 under .*\nchanged \S+\n/,
        );
        assert.ok(fs.readFileSync(file, "utf8").includes(ENV_BLOCK), "the block on stdin reached the merge");
        assert.ok(!merged.stdout.includes(SECRET_VALUE) && !merged.stderr.includes(SECRET_VALUE));
        // Both scripts' temporary copies are gone.
        assert.deepEqual(
          fs.readdirSync(dir).filter((f) => f.startsWith("tmp")),
          [],
        );
      },
    );
  }
});

const ORIGINAL_LOCAL = "LOCAL_DOMAIN=example.social\n";

/** Runs a command string under a shell with `input` on stdin, without blocking the event loop. */
function runShell(
  shell: string[],
  command: string,
  input: string,
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(shell[0], [...shell.slice(1), "-c", command], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), HANG_LIMIT_MS);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.on("error", () => {});
    child.stdin.end(input);
  });
}

// ---- real SSH ----

const sshSkip = sshdSkipReason();

const ORIGINAL_ENV = "LOCAL_DOMAIN=example.social\nREDIS_HOST=localhost\n";

describe(
  `MastodonEnvPush command over real SSH${sshSkip ? ` (skipped: ${sshSkip})` : ""}`,
  { skip: sshSkip },
  () => {
    let dir: string;
    let sshd: LoopbackSshd;
    let port: number;
    let callsLog: string;
    let failFlag: string;
    let tmp: string;
    let media: MediaFilesServer;
    const user = os.userInfo().username;

    before(async () => {
      media = await startMediaFilesServer();
      dir = fs.mkdtempSync(path.join(os.tmpdir(), "env-push-ssh-"));

      // The "host": shims that record how they were called instead of restarting anything.
      const shims = path.join(dir, "shims");
      fs.mkdirSync(shims);
      callsLog = path.join(dir, "calls.log");
      failFlag = path.join(dir, "restart-fails");
      const shim = (body: string) => `#!/bin/sh\n${body}\n`;
      const record = `echo "$(basename "$0") $* @ $(pwd)" >> '${callsLog}'`;
      fs.writeFileSync(path.join(shims, "systemctl"), shim(`${record}\n[ ! -e '${failFlag}' ]`), {
        mode: 0o755,
      });
      fs.writeFileSync(path.join(shims, "docker"), shim(`${record}\n[ ! -e '${failFlag}' ]`), {
        mode: 0o755,
      });
      fs.writeFileSync(path.join(shims, "sudo"), shim(`${record}\n[ "$1" = -n ] && shift\nexec "$@"`), {
        mode: 0o755,
      });
      tmp = path.join(dir, "remote-tmp");
      fs.mkdirSync(tmp);

      sshd = await startLoopbackSshd({
        PATH: `${shims}:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin`,
        TMPDIR: tmp,
        CURL_CA_BUNDLE: media.caFile,
      });
      port = sshd.port;
    });

    after(async () => {
      sshd?.stop();
      fs.rmSync(dir, { recursive: true, force: true });
      await media?.close();
    });

    /** Runs the command string on the test's sshd with `block` on stdin. */
    function push(
      commandString: string,
      block: string,
    ): Promise<{ code: number | null; stdout: string; stderr: string }> {
      return new Promise((resolve, reject) => {
        const child = spawn(
          "ssh",
          [
            "-F",
            "/dev/null",
            "-i",
            sshd.clientKeyFile,
            "-p",
            String(port),
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=yes",
            "-o",
            `UserKnownHostsFile=${sshd.knownHostsFile}`,
            // ConnectTimeout also bounds the SSH handshake and key exchange, which a busy machine can delay.
            "-o",
            `ConnectTimeout=${HANG_LIMIT_MS / 1000}`,
            "-o",
            "LogLevel=ERROR",
            // The post-quantum default key exchange costs CPU the test does not need to spend.
            "-o",
            "KexAlgorithms=curve25519-sha256",
            `${user}@127.0.0.1`,
            commandString,
          ],
          { stdio: ["pipe", "pipe", "pipe"] },
        );
        let stdout = "";
        let stderr = "";
        child.stdout.on("data", (d) => (stdout += d));
        child.stderr.on("data", (d) => (stderr += d));
        const timer = setTimeout(() => {
          child.kill("SIGKILL");
          reject(new Error(`ssh hung for ${HANG_LIMIT_MS} ms; stderr: ${stderr}`));
        }, HANG_LIMIT_MS);
        child.on("error", reject);
        child.on("close", (code) => {
          clearTimeout(timer);
          resolve({ code, stdout, stderr });
        });
        child.stdin.on("error", () => {}); // the remote may stop reading early when it refuses
        child.stdin.end(block);
      });
    }

    const calls = () => (fs.existsSync(callsLog) ? fs.readFileSync(callsLog, "utf8").trim().split("\n") : []);
    const script = readMergeEnvScript();

    /** A fresh env file in its own directory on the "host". */
    function envFile(sub: string, content = ORIGINAL_ENV): string {
      const d = path.join(dir, sub);
      fs.mkdirSync(d, { recursive: true });
      const file = path.join(d, ".env.production");
      fs.writeFileSync(file, content, { mode: 0o600 });
      return file;
    }

    it("the line `ssh-keyscan -t ed25519` prints for this server normalizes to the host key these pushes verify", () => {
      const scan = spawnSync("ssh-keyscan", ["-t", "ed25519", "-p", String(port), "127.0.0.1"], {
        encoding: "utf8",
        timeout: HANG_LIMIT_MS,
      });
      assert.equal(scan.status, 0, scan.stderr);
      const line = scan.stdout.trim();
      assert.match(line, new RegExp(`^\\[127\\.0\\.0\\.1\\]:${port} ssh-ed25519 AAAA`));
      const normalized = normalizeHostKey(line);
      assert.deepEqual(normalized, { key: sshd.hostKey });
    });

    it("merges the block into the remote env file and restarts web and sidekiq via systemctl", async () => {
      const file = envFile("systemd");
      const callsBefore = calls().length;
      const r = await push(
        buildEnvPushCommand({ envFile: file, restart: "systemd", mergeScript: script }),
        ENV_BLOCK,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        /^changed \S+\.env\.production\.mastodon-media-bak-\d{14}\nmastodon-media: restarted web and sidekiq\n$/,
      );
      assert.ok(fs.readFileSync(file, "utf8").startsWith(ORIGINAL_ENV + "# >>> mastodon-media"));
      assert.ok(fs.readFileSync(file, "utf8").includes(ENV_BLOCK));
      const made = calls().slice(callsBefore);
      assert.match(made[made.length - 1], /^systemctl restart mastodon-web mastodon-sidekiq @ /);
      assert.ok(!r.stdout.includes(SECRET_VALUE) && !r.stderr.includes(SECRET_VALUE));
    });

    it("a second push of the same block reports unchanged and does not restart", async () => {
      const file = path.join(dir, "systemd", ".env.production");
      const content = fs.readFileSync(file, "utf8");
      const callsBefore = calls().length;
      const r = await push(
        buildEnvPushCommand({ envFile: file, restart: "systemd", mergeScript: script }),
        ENV_BLOCK,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "unchanged\nmastodon-media: env file unchanged; no restart\n");
      assert.equal(calls().length, callsBefore);
      assert.equal(fs.readFileSync(file, "utf8"), content);
    });

    it("a push that prunes its own backups to 3 keeps the operator's hand-made .bak-<stamp> backup", async () => {
      const file = envFile("backups");
      const handMade = `${file}.bak-20240101120000`;
      fs.writeFileSync(handMade, ORIGINAL_ENV, { mode: 0o600 });
      // Three earlier backups of its own (older than today's stamp), so this one push has one to prune.
      const earlier = ["20250101000000", "20250101000001", "20250101000002"].map(
        (stamp) => `.env.production.mastodon-media-bak-${stamp}`,
      );
      for (const name of earlier) fs.writeFileSync(path.join(path.dirname(file), name), ORIGINAL_ENV);
      const r = await push(
        buildEnvPushCommand({ envFile: file, restart: "none", mergeScript: script }),
        ENV_BLOCK,
      );
      assert.equal(r.code, 0, r.stderr);
      const m = /^changed (\S+)\n/.exec(r.stdout);
      assert.ok(m, r.stdout);
      assert.match(path.basename(m[1]), /^\.env\.production\.mastodon-media-bak-\d{14}$/);
      assert.deepEqual(
        fs.readdirSync(path.dirname(file)).sort(),
        [".env.production", path.basename(handMade), path.basename(m[1]), ...earlier.slice(1)].sort(),
      );
      assert.equal(fs.readFileSync(handMade, "utf8"), ORIGINAL_ENV);
    });

    it("a restart that failed is retried by the next push although the file no longer changes", async () => {
      const file = envFile("retry");
      const cmd = buildEnvPushCommand({ envFile: file, restart: "systemd", mergeScript: script });
      fs.writeFileSync(failFlag, "");
      const failed = await push(cmd, ENV_BLOCK);
      assert.notEqual(failed.code, 0);
      assert.match(failed.stderr, /restart failed; the next pulumi up retries it/);
      assert.ok(fs.existsSync(`${file}.restart-pending`));
      fs.rmSync(failFlag);
      const callsBefore = calls().length;
      const retried = await push(cmd, ENV_BLOCK);
      assert.equal(retried.code, 0, retried.stderr);
      assert.equal(retried.stdout, "unchanged\nmastodon-media: restarted web and sidekiq\n");
      assert.equal(calls().length, callsBefore + 1);
      assert.ok(!fs.existsSync(`${file}.restart-pending`));
    });

    it("docker-compose mode recreates web and sidekiq from the env file's directory, quoted path and all", async () => {
      const file = envFile("it's live");
      const callsBefore = calls().length;
      const r = await push(
        buildEnvPushCommand({ envFile: file, restart: "docker-compose", mergeScript: script }),
        ENV_BLOCK,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(calls().slice(callsBefore), [
        `docker compose up -d --no-deps --force-recreate web sidekiq @ ${path.dirname(file)}`,
      ]);
      assert.ok(fs.readFileSync(file, "utf8").includes(ENV_BLOCK));
    });

    it('"none" mode merges but restarts nothing, and says so', async () => {
      const file = envFile("none");
      const callsBefore = calls().length;
      const r = await push(
        buildEnvPushCommand({ envFile: file, restart: "none", mergeScript: script }),
        ENV_BLOCK,
      );
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /restart is off; restart web and sidekiq yourself/);
      assert.equal(calls().length, callsBefore);
      assert.ok(fs.readFileSync(file, "utf8").includes(ENV_BLOCK));
    });

    it("a missing env file fails the push, names the path, creates nothing and restarts nothing", async () => {
      const missing = path.join(dir, "nowhere", ".env.production");
      const callsBefore = calls().length;
      const r = await push(
        buildEnvPushCommand({ envFile: missing, restart: "systemd", mergeScript: script }),
        ENV_BLOCK,
      );
      assert.notEqual(r.code, 0);
      assert.ok(r.stderr.includes(`${missing} does not exist`), r.stderr);
      assert.equal(fs.existsSync(path.dirname(missing)), false);
      assert.equal(calls().length, callsBefore);
    });

    it("refuses to switch while the server's local media is not served yet: file, backups and services untouched", async () => {
      const file = envFile("local-media");
      const system = path.join(path.dirname(file), "public", "system");
      const files = [
        "accounts/avatars/000/000/001/original/x.png",
        "custom_emojis/images/000/000/001/static/y.png",
      ];
      for (const f of files) {
        fs.mkdirSync(path.dirname(path.join(system, f)), { recursive: true });
        fs.writeFileSync(path.join(system, f), "media");
      }
      const cmd = buildEnvPushCommand({
        envFile: file,
        restart: "systemd",
        mergeScript: script,
        localMediaDir: system,
        checkScript: readCheckLocalMediaScript(),
        mediaBaseUrl: media.baseUrl,
        bucket: "files",
        e2Endpoint: "s3.eu-central-2.idrivee2.com",
      });
      const callsBefore = calls().length;
      const refused = await push(cmd, ENV_BLOCK);
      assert.equal(refused.code, 1, refused.stderr);
      assert.match(refused.stderr, /2 of 2 sampled files .* are not served/);
      assert.match(refused.stderr, /nothing was changed on this server/);
      assert.equal(fs.readFileSync(file, "utf8"), ORIGINAL_ENV);
      assert.deepEqual(fs.readdirSync(path.dirname(file)).sort(), [".env.production", "public"]);
      assert.equal(calls().length, callsBefore);

      // The operator copies the media; the next pulumi up switches.
      for (const f of files) media.keys.add(f);
      const pushed = await push(cmd, ENV_BLOCK);
      assert.equal(pushed.code, 0, pushed.stderr);
      assert.match(pushed.stdout, /^mastodon-media: local media: all 2 sampled files/);
      assert.match(pushed.stdout, /restarted web and sidekiq\n$/);
      assert.ok(fs.readFileSync(file, "utf8").includes(ENV_BLOCK));
      for (const f of files) assert.ok(media.requests.includes(`HEAD /${f}`), f);
    });

    it("leaves no temporary copy of the merge script on the host", async () => {
      // The remote mktemp writes where TMPDIR points, so an empty directory means the copies were removed.
      assert.equal((await push('printf %s "$TMPDIR"', "")).stdout, tmp);
      assert.deepEqual(fs.readdirSync(tmp), []);
    });
  },
);
