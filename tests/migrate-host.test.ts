// `npm run migrate -- … --from host`: rclone runs on the Mastodon server, reached over real SSH (a loopback
// sshd standing in for the server), and copies from its public/system to the stack's bucket on Ceph RGW.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as https from "node:https";
import * as net from "node:net";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { CreateBucketCommand, ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { cephRgwSkipReason, sharedCephRgw, type CephRgw, type S3Key } from "./support/ceph-rgw";
import { startLoopbackSshd, sshdSkipReason, type LoopbackSshd } from "./support/loopback-sshd";
import { runMigrate, writePulumiStandIn } from "./support/migrate-run";
import { which } from "./support/which";

const skip =
  cephRgwSkipReason() ??
  sshdSkipReason() ??
  (which("rclone") ? undefined : "rclone is not installed (apt install rclone)") ??
  (which("ssh-agent") ? undefined : "ssh-agent is not installed (package openssh-client)");

const TREE: Record<string, number> = {
  "media_attachments/files/110/123/456/789/012/345/original/0123456789abcdef.jpg": 30_000,
  "accounts/avatars/000/000/001/original/a1b2c3d4e5f60718.png": 5_000,
  "cache/custom_emojis/images/000/000/007/static/blob cat+ü.png": 900,
};

function cmdlines(): string[] {
  return fs
    .readdirSync("/proc")
    .filter((p) => /^\d+$/.test(p))
    .map((pid) => {
      try {
        return fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ");
      } catch {
        return "";
      }
    });
}

describe(
  skip ? `npm run migrate --from host over SSH (skipped: ${skip})` : "npm run migrate --from host over SSH",
  { skip },
  () => {
    let rgw: CephRgw;
    let key: S3Key;
    let s3: S3Client;
    let sshd: LoopbackSshd;
    let bare: LoopbackSshd;
    let work: string;
    let mediaDir: string;
    let env: NodeJS.ProcessEnv;

    before(async () => {
      rgw = await sharedCephRgw();
      key = await rgw.createUser("migrate-host");
      s3 = new S3Client({
        endpoint: rgw.httpsUrl,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: key,
        requestHandler: { httpsAgent: new https.Agent({ ca: rgw.caPem }) },
      });
      work = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-host-"));
      mediaDir = path.join(work, "live", "public", "system");
      for (const [k, size] of Object.entries(TREE)) {
        fs.mkdirSync(path.join(mediaDir, path.dirname(k)), { recursive: true });
        fs.writeFileSync(path.join(mediaDir, k), randomBytes(size));
      }
      // The "server": rclone on its PATH, RGW's test CA trusted through Go's SSL_CERT_FILE.
      sshd = await startLoopbackSshd({ PATH: "/usr/local/bin:/usr/bin:/bin", SSL_CERT_FILE: rgw.caFile });
      // A server without rclone: its PATH holds a shell and nothing else.
      const onlySh = path.join(work, "only-sh");
      fs.mkdirSync(onlySh);
      fs.symlinkSync(which("sh")!, path.join(onlySh, "sh"));
      bare = await startLoopbackSshd({ PATH: onlySh });
      env = { PATH: process.env.PATH, HOME: work };
    });
    after(() => {
      sshd?.stop();
      bare?.stop();
      fs.rmSync(work, { recursive: true, force: true });
    });

    async function bucketKeys(bucket: string): Promise<string[]> {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket }));
      return (page.Contents ?? []).map((o) => o.Key!).sort();
    }

    /** A fresh bucket and a stand-in stack whose mastodonHost is `server` (with overrides). */
    async function stack(
      bucket: string,
      server: LoopbackSshd,
      host: Record<string, unknown> = {},
    ): Promise<string> {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const mastodonHost = {
        host: "127.0.0.1",
        user: server.user,
        port: server.port,
        hostKey: server.hostKey,
        localMediaDir: mediaDir,
        ...host,
      };
      return writePulumiStandIn({
        config: {
          domain: "example.social",
          e2Endpoint: "s3.eu-central-2.idrivee2.com",
          e2AccessKeyId: "PROGRAMKEY0000000001",
          e2SecretAccessKey: "program-secret-not-used-here",
          mastodonAccessKeyId: key.accessKeyId,
          mastodonSecretAccessKey: key.secretAccessKey,
          mastodonHost: JSON.stringify(mastodonHost),
          mastodonHostSshKey: server.clientKey,
        },
        secrets: [
          "e2AccessKeyId",
          "e2SecretAccessKey",
          "mastodonAccessKeyId",
          "mastodonSecretAccessKey",
          "mastodonHostSshKey",
        ],
        outputs: { bucketName: bucket, e2Endpoint: rgw.endpointHost },
      }).pulumi;
    }

    /** A line of the SSH private key's body: what would show if the key were on a command line. */
    const keyBody = () => sshd.clientKey.split("\n")[1]!;

    it("host → bucket over SSH: plan, copy and verify; no secret or SSH key in any process's arguments", async () => {
      const pulumi = await stack("migrate-from-host", sshd);
      const planned = await runMigrate(pulumi, ["plan", "--from", "host"], env);
      assert.equal(planned.code, 0, planned.stderr);
      assert.match(planned.stdout, /copy would transfer 3 objects/);

      const secrets = [key.secretAccessKey, keyBody()];
      let leaked = false;
      let sawRemoteRclone = false;
      let sawSsh = false;
      let done = false;
      const copying = runMigrate(pulumi, ["copy", "--from", "host"], env).finally(() => (done = true));
      while (!done) {
        for (const c of cmdlines()) {
          if (secrets.some((s) => c.includes(s))) leaked = true;
          if (c.startsWith("ssh ") && c.includes("sh -s")) sawSsh = true;
          if (/rclone (copy|lsjson) /.test(c) && c.includes(mediaDir)) sawRemoteRclone = true;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      const copied = await copying;
      assert.equal(copied.code, 0, copied.stderr);
      assert.match(copied.stdout, /3 files copied/);
      assert.ok(sawSsh && sawRemoteRclone, `not seen running: ssh ${sawSsh}, rclone ${sawRemoteRclone}`);
      assert.ok(!leaked, "a secret or the SSH key was in a process's arguments");
      assert.deepEqual(await bucketKeys("migrate-from-host"), Object.keys(TREE).sort());
      const verified = await runMigrate(pulumi, ["verify", "--from", "host"], env);
      assert.equal(verified.code, 0, verified.stdout + verified.stderr);
      for (const r of [planned, copied, verified])
        for (const s of [...secrets, ...Object.keys(TREE).map((k) => path.posix.basename(k))])
          assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), "a secret or key was printed");
    });

    it("a host without rclone: the install command, and nothing else happens", async () => {
      const pulumi = await stack("migrate-host-norclone", bare);
      const r = await runMigrate(pulumi, ["copy", "--from", "host"], env);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /migrate: host: rclone is not installed on 127\.0\.0\.1\. Install it there \(`apt install rclone`\)/,
      );
      assert.deepEqual(await bucketKeys("migrate-host-norclone"), []);
    });

    it("an unreachable host is named, with the settings to check", async () => {
      const closed = await new Promise<number>((resolve) => {
        const srv = net.createServer();
        srv.listen(0, "127.0.0.1", () => {
          const port = (srv.address() as net.AddressInfo).port;
          srv.close(() => resolve(port));
        });
      });
      const pulumi = await stack("migrate-host-unreachable", sshd, { port: closed });
      const r = await runMigrate(pulumi, ["plan", "--from", "host"], env);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /migrate: host: cannot reach .*127\.0\.0\.1:\d+ over SSH .*mastodonHost\.host and mastodonHost\.port/,
      );
    });

    it("a host presenting another host key is refused (never trust on first use), nothing copied", async () => {
      const other = path.join(work, "other_host_key");
      spawnSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", other]);
      const otherKey = fs.readFileSync(`${other}.pub`, "utf8").split(" ").slice(0, 2).join(" ");
      const pulumi = await stack("migrate-host-wrongkey", sshd, { hostKey: otherKey });
      const r = await runMigrate(pulumi, ["copy", "--from", "host"], env);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /migrate: host: .* presented a host key other than mastodonHost\.hostKey; nothing was done/,
      );
      assert.deepEqual(await bucketKeys("migrate-host-wrongkey"), []);
    });

    it("a media directory missing on the host is named as such", async () => {
      const pulumi = await stack("migrate-host-nodir", sshd, { localMediaDir: path.join(work, "gone") });
      const r = await runMigrate(pulumi, ["verify", "--from", "host"], env);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /migrate: source \(host 127\.0\.0\.1: .*gone\): listing failed.* does not exist on the host: set mastodonHost\.localMediaDir/,
      );
    });
  },
);
