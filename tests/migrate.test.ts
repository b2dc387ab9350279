// `npm run migrate` from a directory and from another provider's bucket into the stack's bucket: the real
// rclone (Debian's), Ceph RGW as e2 and, with a second RGW user and its own bucket, as the other provider. The
// stack is read through a stand-in `pulumi` executable printing what the CLI prints.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import {
  CreateBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  PutObjectCommand,
  DeleteObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { publicReadPolicy } from "../components/bucket-policy";
import { MASTODON_CACHE_CONTROL } from "../tools/migrate/rclone-flags";
import { cephRgwSkipReason, sharedCephRgw, type CephRgw, type S3Key } from "./support/ceph-rgw";
import { runMigrate, writePulumiStandIn, type MigrateResult } from "./support/migrate-run";
import { which } from "./support/which";

const skip =
  cephRgwSkipReason() ?? (which("rclone") ? undefined : "rclone is not installed (apt install rclone)");

/** Keys as Paperclip makes them, plus the awkward names operators have: spaces, `+`, non-ASCII letters. */
const TREE: Record<string, number> = {
  "media_attachments/files/110/123/456/789/012/345/original/0123456789abcdef.jpg": 20_000,
  "media_attachments/files/110/123/456/789/012/345/small/0123456789abcdef.jpg": 3_000,
  "media_attachments/files/110/123/456/789/012/346/original/fedcba9876543210.mp4": 50_000,
  "accounts/avatars/000/000/001/original/a1b2c3d4e5f60718.png": 8_000,
  "cache/accounts/headers/109/000/000/000/000/002/original/9f8e7d6c5b4a3921.png": 4_000,
  "custom_emojis/images/000/000/003/static/blobcat.png": 1_000,
  "site_uploads/files/000/000/001/original/name with spaces.png": 500,
  "site_uploads/files/000/000/001/original/plus+sign.png": 600,
  "site_uploads/files/000/000/001/original/Ünïcödé-ñame.png": 700,
  "backups/dumps/000/000/001/original/archive-20261130.zip": 2_000,
};

function makeTree(root: string, tree: Record<string, number>): void {
  for (const [key, size] of Object.entries(tree)) {
    fs.mkdirSync(path.join(root, path.dirname(key)), { recursive: true });
    fs.writeFileSync(path.join(root, key), randomBytes(size));
  }
}

function s3For(rgw: CephRgw, key: S3Key): S3Client {
  return new S3Client({
    endpoint: rgw.httpsUrl,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: key,
    maxAttempts: 2,
    requestChecksumCalculation: "WHEN_REQUIRED",
    requestHandler: { httpsAgent: new https.Agent({ ca: rgw.caPem }) },
  });
}

async function listing(s3: S3Client, bucket: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.set(o.Key!, o.Size!);
    token = page.NextContinuationToken;
  } while (token);
  return out;
}

/** An unsigned GET, as a reader (or Cloudflare) sends it. */
function anonymousGet(rgw: CephRgw, urlPath: string): Promise<number> {
  return new Promise((resolve, reject) => {
    https
      .get(`${rgw.httpsUrl}${urlPath}`, { ca: rgw.caPem, timeout: 10_000 }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      })
      .on("error", reject);
  });
}

/** Every process's arguments right now (what any user of the machine can read). */
function allCmdlines(): string[] {
  const out: string[] = [];
  for (const pid of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      out.push(fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" "));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const MASTODON_KEY_NAMES = ["mastodonAccessKeyId", "mastodonSecretAccessKey"];

describe(
  skip
    ? `npm run migrate against rclone and Ceph RGW (skipped: ${skip})`
    : "npm run migrate against rclone and Ceph RGW",
  { skip },
  () => {
    let rgw: CephRgw;
    let e2Key: S3Key;
    let otherKey: S3Key;
    let e2: S3Client;
    let other: S3Client;
    let work: string;
    let env: NodeJS.ProcessEnv;
    const programKey = {
      accessKeyId: "PROGRAMKEY0000000001",
      secretAccessKey: `program-${randomBytes(12).toString("hex")}`,
    };

    before(async () => {
      rgw = await sharedCephRgw();
      [e2Key, otherKey] = await Promise.all([rgw.createUser("migrate-e2"), rgw.createUser("migrate-other")]);
      e2 = s3For(rgw, e2Key);
      other = s3For(rgw, otherKey);
      work = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-test-"));
      // The tool's whole environment: rclone trusts RGW's test CA through Go's SSL_CERT_FILE.
      env = { PATH: process.env.PATH, HOME: work, SSL_CERT_FILE: rgw.caFile };
    });
    after(() => fs.rmSync(work, { recursive: true, force: true }));

    /** A fresh e2 bucket with the program's policy, and a stand-in stack pointing at it. */
    async function stack(bucket: string, opts: { mastodonKey?: boolean } = {}): Promise<string> {
      await e2.send(new CreateBucketCommand({ Bucket: bucket }));
      await e2.send(
        new PutBucketPolicyCommand({ Bucket: bucket, Policy: JSON.stringify(publicReadPolicy(bucket)) }),
      );
      const useMastodon = opts.mastodonKey ?? true;
      const config: Record<string, string> = {
        domain: "example.social",
        bucket: "files",
        e2Endpoint: "s3.eu-central-2.idrivee2.com",
        // With a Mastodon key, the program's key is a dummy RGW does not know: a write with it would fail.
        e2AccessKeyId: useMastodon ? programKey.accessKeyId : e2Key.accessKeyId,
        e2SecretAccessKey: useMastodon ? programKey.secretAccessKey : e2Key.secretAccessKey,
        ...(useMastodon
          ? { mastodonAccessKeyId: e2Key.accessKeyId, mastodonSecretAccessKey: e2Key.secretAccessKey }
          : {}),
      };
      return writePulumiStandIn({
        config,
        secrets: ["e2AccessKeyId", "e2SecretAccessKey", ...MASTODON_KEY_NAMES],
        outputs: { bucketName: bucket, e2Endpoint: rgw.endpointHost, mediaHost: "files.example.social" },
      }).pulumi;
    }

    function sourceDir(name: string, tree: Record<string, number> = TREE): string {
      const dir = path.join(work, name);
      fs.mkdirSync(dir, { recursive: true });
      makeTree(dir, tree);
      return dir;
    }

    function assertNoKeyPrinted(r: MigrateResult, keys: Iterable<string>): void {
      for (const key of keys) {
        const base = path.posix.basename(key);
        assert.ok(!r.stdout.includes(base) && !r.stderr.includes(base), `a key was printed: ${key}`);
      }
    }

    function assertNoSecretPrinted(r: MigrateResult, secrets: string[]): void {
      for (const s of secrets)
        assert.ok(!r.stdout.includes(s) && !r.stderr.includes(s), "a secret was printed");
    }

    it("directory → bucket: copy, then verify passes; names with spaces, + and non-ASCII arrive intact", async () => {
      const pulumi = await stack("migrate-dir");
      const dir = sourceDir("dir");
      const copied = await runMigrate(pulumi, ["copy", "--from", dir], env);
      assert.equal(copied.code, 0, copied.stderr);
      assert.match(copied.stdout, /copy: done .*: 10 files copied/);
      const inBucket = await listing(e2, "migrate-dir");
      assert.deepEqual(new Map(Object.entries(TREE)), inBucket);
      const verified = await runMigrate(pulumi, ["verify", "--from", dir], env);
      assert.equal(verified.code, 0, verified.stderr + verified.stdout);
      assert.match(verified.stdout, /verify: complete: all 10 source objects/);
      assert.match(verified.stdout, /^media_attachments\/\s+3\s+0\s+0$/m);
      assertNoKeyPrinted(copied, Object.keys(TREE));
      assertNoKeyPrinted(verified, Object.keys(TREE));
      assertNoSecretPrinted(copied, [e2Key.secretAccessKey, e2Key.accessKeyId]);
    });

    it("copied objects carry Mastodon's Content-Type (from the extension) and Cache-Control", async () => {
      const pulumi = await stack("migrate-headers");
      const dir = sourceDir("headers");
      assert.equal((await runMigrate(pulumi, ["copy", "--from", dir], env)).code, 0);
      const expected: Record<string, string> = {
        ".jpg": "image/jpeg",
        ".png": "image/png",
        ".mp4": "video/mp4",
      };
      for (const key of Object.keys(TREE).filter((k) => path.extname(k) in expected)) {
        const head = await e2.send(new HeadObjectCommand({ Bucket: "migrate-headers", Key: key }));
        assert.equal(head.ContentType, expected[path.extname(key)], key);
        assert.equal(head.CacheControl, MASTODON_CACHE_CONTROL, key);
      }
    });

    it("after a copy RGW applies the program's policy: copied media readable anonymously, copied backups/ not", async () => {
      const pulumi = await stack("migrate-policy");
      const dir = sourceDir("policy");
      assert.equal((await runMigrate(pulumi, ["copy", "--from", dir], env)).code, 0);
      const media = "media_attachments/files/110/123/456/789/012/345/original/0123456789abcdef.jpg";
      assert.equal(await anonymousGet(rgw, `/migrate-policy/${media}`), 200);
      assert.equal(
        await anonymousGet(rgw, "/migrate-policy/accounts/avatars/000/000/001/original/a1b2c3d4e5f60718.png"),
        200,
      );
      assert.equal(
        await anonymousGet(rgw, "/migrate-policy/backups/dumps/000/000/001/original/archive-20261130.zip"),
        403,
      );
    });

    it("plan prints objects and bytes per prefix and what copy would transfer, and changes nothing", async () => {
      const pulumi = await stack("migrate-plan");
      const dir = sourceDir("plan");
      await e2.send(
        new PutObjectCommand({
          Bucket: "migrate-plan",
          Key: "accounts/avatars/000/000/001/original/a1b2c3d4e5f60718.png",
          Body: randomBytes(8_000),
        }),
      );
      const before = await listing(e2, "migrate-plan");
      const r = await runMigrate(pulumi, ["plan", "--from", dir], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(await listing(e2, "migrate-plan"), before);
      assert.match(r.stdout, /^accounts\/\s+1 \(7\.8 KiB\)\s+1 \(7\.8 KiB\)\s+0 \(0 B\)$/m);
      assert.match(r.stdout, /^media_attachments\/\s+3 \(71\.3 KiB\)\s+0 \(0 B\)\s+3 \(71\.3 KiB\)$/m);
      assert.match(
        r.stdout,
        /copy would transfer 9 objects .*9 missing from the bucket, 0 of another size. Nothing was changed/,
      );
      // Leaving local storage without the stack's redirect rule: the nginx redirect for old /system/ URLs.
      assert.match(
        r.stdout,
        /old URLs: after the switch, https:\/\/example\.social\/system\/<key> must redirect/,
      );
      assert.match(
        r.stdout,
        /^ {2}rewrite \^\/system\/\(\.\+\)\$ https:\/\/files\.example\.social\/\$1\? permanent;$/m,
      );
      assertNoKeyPrinted(r, Object.keys(TREE));
    });

    it("copy leaves an object that exists only in the bucket alone", async () => {
      const pulumi = await stack("migrate-keep");
      const dir = sourceDir("keep");
      const onlyInBucket = "media_attachments/files/999/999/999/original/uploaded-after-switch.png";
      await e2.send(new PutObjectCommand({ Bucket: "migrate-keep", Key: onlyInBucket, Body: "kept" }));
      assert.equal((await runMigrate(pulumi, ["copy", "--from", dir], env)).code, 0);
      const inBucket = await listing(e2, "migrate-keep");
      assert.equal(inBucket.get(onlyInBucket), 4);
      assert.equal(inBucket.size, Object.keys(TREE).length + 1);
    });

    it("verify with one object missing and one of another size: exit 1, both counted, no key printed; --list writes them", async () => {
      const pulumi = await stack("migrate-verify");
      const dir = sourceDir("verify");
      assert.equal((await runMigrate(pulumi, ["copy", "--from", dir], env)).code, 0);
      const gone = "accounts/avatars/000/000/001/original/a1b2c3d4e5f60718.png";
      const changed = "media_attachments/files/110/123/456/789/012/345/small/0123456789abcdef.jpg";
      await e2.send(new DeleteObjectCommand({ Bucket: "migrate-verify", Key: gone }));
      await e2.send(new PutObjectCommand({ Bucket: "migrate-verify", Key: changed, Body: "shorter" }));
      const listFile = path.join(work, "missing.txt");
      const r = await runMigrate(pulumi, ["verify", "--from", dir, "--list", listFile], env);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stdout, /^accounts\/\s+0\s+1\s+0$/m);
      assert.match(r.stdout, /^media_attachments\/\s+2\s+0\s+1$/m);
      assert.match(r.stdout, /INCOMPLETE: 1 missing, 1 of another size \(of 10\)/);
      assertNoKeyPrinted(r, Object.keys(TREE));
      assert.deepEqual(fs.readFileSync(listFile, "utf8").trim().split("\n").sort(), [gone, changed].sort());
      assert.equal(fs.statSync(listFile).mode & 0o777, 0o600);
      // copy brings back both, and verify passes again.
      const again = await runMigrate(pulumi, ["copy", "--from", dir], env);
      assert.match(again.stdout, /: 2 files copied/);
      assert.equal((await runMigrate(pulumi, ["verify", "--from", dir], env)).code, 0);
    });

    it("an empty source: plan, copy and verify succeed with nothing to do", async () => {
      const pulumi = await stack("migrate-empty");
      const dir = path.join(work, "empty");
      fs.mkdirSync(dir);
      const planned = await runMigrate(pulumi, ["plan", "--from", dir], env);
      assert.equal(planned.code, 0, planned.stderr);
      assert.match(planned.stdout, /copy would transfer 0 objects/);
      const copied = await runMigrate(pulumi, ["copy", "--from", dir], env);
      assert.equal(copied.code, 0, copied.stderr);
      assert.match(copied.stdout, /: 0 files copied/);
      const verified = await runMigrate(pulumi, ["verify", "--from", dir], env);
      assert.equal(verified.code, 0);
      assert.match(verified.stdout, /all 0 source objects/);
    });

    it("a source directory that does not exist is named as the source, and nothing is copied", async () => {
      const pulumi = await stack("migrate-nodir");
      const r = await runMigrate(pulumi, ["copy", "--from", path.join(work, "nowhere")], env);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /migrate: source \(.*nowhere\): reading failed.*does not exist/);
      assert.equal((await listing(e2, "migrate-nodir")).size, 0);
    });

    it("without a Mastodon key the program's key writes, and the tool says so", async () => {
      const pulumi = await stack("migrate-programkey", { mastodonKey: false });
      const dir = sourceDir("programkey", { "accounts/avatars/000/000/001/original/x.png": 10 });
      const r = await runMigrate(pulumi, ["copy", "--from", dir], env);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stderr,
        /notice: the stack has no mastodonAccessKeyId\/mastodonSecretAccessKey; writing with the program's key/,
      );
      assert.equal((await listing(e2, "migrate-programkey")).size, 1);
    });

    it("a bucket key e2 refuses is named as the bucket side, with the keys to check", async () => {
      const pulumi = writePulumiStandIn({
        config: {
          domain: "example.social",
          e2Endpoint: "s3.eu-central-2.idrivee2.com",
          e2AccessKeyId: programKey.accessKeyId,
          e2SecretAccessKey: programKey.secretAccessKey,
          mastodonAccessKeyId: e2Key.accessKeyId,
          mastodonSecretAccessKey: "wrong-secret-0000000000000000000000",
        },
        secrets: ["e2AccessKeyId", "e2SecretAccessKey", ...MASTODON_KEY_NAMES],
        outputs: { bucketName: "migrate-dir", e2Endpoint: rgw.endpointHost },
      }).pulumi;
      const r = await runMigrate(pulumi, ["copy", "--from", sourceDir("badbucket")], env);
      assert.equal(r.code, 1);
      assert.match(
        r.stderr,
        /migrate: bucket \(migrate-dir at .*\): reading failed: .*SignatureDoesNotMatch.*mastodonAccessKeyId\/mastodonSecretAccessKey/,
      );
      assertNoSecretPrinted(r, ["wrong-secret-0000000000000000000000", programKey.secretAccessKey]);
    });

    describe("from another provider's bucket", () => {
      const sourceEnv = () => ({
        ...env,
        SOURCE_ACCESS_KEY_ID: otherKey.accessKeyId,
        SOURCE_SECRET_ACCESS_KEY: otherKey.secretAccessKey,
      });

      before(async () => {
        await other.send(new CreateBucketCommand({ Bucket: "old-provider" }));
        for (const [key, size] of Object.entries(TREE))
          await other.send(
            new PutObjectCommand({ Bucket: "old-provider", Key: `mastodon/${key}`, Body: randomBytes(size) }),
          );
      });

      it("s3 → bucket across two RGW users: copy, then verify passes, keys relative to the prefix", async () => {
        const pulumi = await stack("migrate-s3");
        const args = ["--from", "s3://old-provider/mastodon", "--source-endpoint", rgw.endpointHost];
        const copied = await runMigrate(pulumi, ["copy", ...args], sourceEnv());
        assert.equal(copied.code, 0, copied.stderr);
        assert.deepEqual(new Map(Object.entries(TREE)), await listing(e2, "migrate-s3"));
        const verified = await runMigrate(pulumi, ["verify", ...args], sourceEnv());
        assert.equal(verified.code, 0, verified.stdout + verified.stderr);
        assertNoKeyPrinted(copied, Object.keys(TREE));
        assertNoSecretPrinted(copied, [otherKey.secretAccessKey, e2Key.secretAccessKey]);
      });

      it("a wrong source key: the message names the source side and its variables, nothing is copied", async () => {
        const pulumi = await stack("migrate-s3-badkey");
        const bad = "not-the-source-secret-00000000000000000";
        const r = await runMigrate(
          pulumi,
          ["copy", "--from", "s3://old-provider/mastodon", "--source-endpoint", rgw.endpointHost],
          { ...sourceEnv(), SOURCE_SECRET_ACCESS_KEY: bad },
        );
        assert.equal(r.code, 1);
        assert.match(
          r.stderr,
          /migrate: source \(s3:\/\/old-provider\/mastodon at .*\): reading failed: .*SOURCE_ACCESS_KEY_ID and SOURCE_SECRET_ACCESS_KEY/,
        );
        assertNoSecretPrinted(r, [bad, e2Key.secretAccessKey]);
        assert.equal((await listing(e2, "migrate-s3-badkey")).size, 0);
      });

      it("without SOURCE_ACCESS_KEY_ID and SOURCE_SECRET_ACCESS_KEY: usage error (exit 2)", async () => {
        const pulumi = await stack("migrate-s3-nokey");
        const r = await runMigrate(
          pulumi,
          ["plan", "--from", "s3://old-provider", "--source-endpoint", rgw.endpointHost],
          env,
        );
        assert.equal(r.code, 2);
        assert.match(r.stderr, /SOURCE_ACCESS_KEY_ID and SOURCE_SECRET_ACCESS_KEY/);
      });
    });

    it("an interrupted copy (rclone killed mid-way) resumes: the re-run transfers less than the whole, and no secret is in any process's arguments", async () => {
      const pulumi = await stack("migrate-resume");
      const files: Record<string, number> = {};
      for (let i = 0; i < 400; i++)
        files[
          `media_attachments/files/110/000/000/000/${String(i).padStart(3, "0")}/original/${randomBytes(8).toString("hex")}.jpg`
        ] = 96_000;
      const dir = sourceDir("resume", files);
      const secrets = [e2Key.secretAccessKey, programKey.secretAccessKey];
      const running = runMigrate(pulumi, ["copy", "--from", dir], env);
      let sawRclone = false;
      let leaked = false;
      let killed = false;
      for (let tries = 0; !killed && tries < 3000; tries++) {
        const cmdlines = allCmdlines();
        if (cmdlines.some((c) => secrets.some((s) => c.includes(s)))) leaked = true;
        const ours = fs.readdirSync("/proc").find((pid) => {
          try {
            const c = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
            return c[0]!.endsWith("rclone") && c[1] === "copy" && c[2] === dir;
          } catch {
            return false;
          }
        });
        if (ours) {
          sawRclone = true;
          const count = (await listing(e2, "migrate-resume")).size;
          if (count > 0) {
            process.kill(Number(ours), "SIGKILL");
            killed = true;
          }
        }
        await new Promise((r) => setTimeout(r, 10));
      }
      const first = await running;
      assert.ok(sawRclone, "rclone was never seen running");
      assert.ok(!leaked, "a secret was in a process's arguments");
      assert.ok(killed, "the copy ended before it could be interrupted");
      assert.equal(first.code, 1);
      assert.match(first.stderr, /rclone was stopped \(SIGKILL\).*Run copy again/);
      const partial = (await listing(e2, "migrate-resume")).size;
      assert.ok(partial < 400, `the interrupted copy already had everything (${partial})`);
      const second = await runMigrate(pulumi, ["copy", "--from", dir], env);
      assert.equal(second.code, 0, second.stderr);
      const copied = Number(/: (\d+) files copied/.exec(second.stdout)?.[1]);
      assert.ok(copied < 400 && copied <= 400 - partial, `second run copied ${copied} after ${partial}`);
      assert.equal((await runMigrate(pulumi, ["verify", "--from", dir], env)).code, 0);
      assertNoSecretPrinted(first, secrets);
      assertNoKeyPrinted(second, Object.keys(files));
    });
  },
);
