// Mastodon's multipart upload and batch delete (runtime/multipart-check.ts, the media check's second Command)
// against Ceph RGW, with keys RGW really checks: a proper key uploads a probe a byte above the threshold in
// parts, finds it whole and batch-deletes it; a key without write access, and one that may write but not
// delete, are refused by RGW and the failure names the call, RGW's answer and the setting, never a secret.
// What this cannot show: e2's own answers to these calls (the README's first-live-run checklist).
import { after, before, suite, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutBucketPolicyCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { HANG_LIMIT_MS } from "./support/hang-limit";
import { cephRgwSkipReason, sharedCephRgw, type CephRgw, type S3Key } from "./support/ceph-rgw";
import {
  assertFailedAt,
  assertNothingSecretPrinted,
  runCheck,
  verdictLines,
} from "./support/media-check-run";

const skip = cephRgwSkipReason();
const OWNER = `multipart-owner-${randomBytes(3).toString("hex")}`;
const OTHER = `multipart-writer-${randomBytes(3).toString("hex")}`;
/** The smallest threshold Mastodon's SDK can work with: the probe is then 5 MiB + 1 byte in two parts. */
const THRESHOLD = 5 * 1024 * 1024;

let rgw: CephRgw;
let caFile: string;
let admin: S3Client;
let ownerKey: S3Key;
let readOnlyKey: S3Key;
/** A key of another RGW user whom the bucket policy lets put and get objects, but not delete them. */
let writeOnlyKey: S3Key;
const secrets = (): string[] =>
  [ownerKey, readOnlyKey, writeOnlyKey].flatMap((k) => [k.accessKeyId, k.secretAccessKey]);

let bucketCount = 0;
async function bucket(): Promise<string> {
  const name = `multipart-${++bucketCount}-${randomBytes(3).toString("hex")}`;
  await admin.send(new CreateBucketCommand({ Bucket: name }));
  const policy = {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "WriterPutsAndGetsButCannotDelete",
        Effect: "Allow",
        Principal: { AWS: [`arn:aws:iam:::user/${OTHER}`] },
        Action: ["s3:PutObject", "s3:GetObject"],
        Resource: `arn:aws:s3:::${name}/*`,
      },
    ],
  };
  await admin.send(new PutBucketPolicyCommand({ Bucket: name, Policy: JSON.stringify(policy) }));
  return name;
}

async function left(name: string): Promise<string[]> {
  const listed = await admin.send(new ListObjectsV2Command({ Bucket: name }));
  return (listed.Contents ?? []).map((o) => o.Key!);
}

async function probe(name: string, key: S3Key, setting = "mastodonAccessKeyId") {
  const run = await runCheck(
    {
      NODE_EXTRA_CA_CERTS: caFile,
      E2_ENDPOINT: rgw.endpointHost,
      S3_BUCKET: name,
      S3_REGION: "eu-central-2",
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      MEDIA_CHECK_KEY_SETTING: setting,
      S3_MULTIPART_THRESHOLD: String(THRESHOLD),
      MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS: "60",
    },
    HANG_LIMIT_MS,
    undefined,
    "runtime/multipart-check.ts",
  );
  assertNothingSecretPrinted(run, secrets());
  return run;
}

suite(
  skip ? `multipart probe against Ceph RGW (skipped: ${skip})` : "multipart probe against Ceph RGW",
  { skip, concurrency: 3 },
  () => {
    before(async () => {
      rgw = await sharedCephRgw();
      caFile = join(tmpdir(), `multipart-ca-${process.pid}-${randomBytes(4).toString("hex")}.pem`);
      writeFileSync(caFile, rgw.caPem);
      ownerKey = await rgw.createUser(OWNER);
      readOnlyKey = await rgw.createReadOnlyKey(OWNER, "readonly");
      writeOnlyKey = await rgw.createUser(OTHER);
      admin = new S3Client({
        endpoint: rgw.httpsUrl,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: ownerKey,
        maxAttempts: 1,
        requestHandler: { httpsAgent: new https.Agent({ ca: rgw.caPem }), requestTimeout: 30_000 },
      });
    });
    after(() => {
      admin?.destroy();
      if (caFile) rmSync(caFile, { force: true });
    });

    test("a proper key uploads a byte above the threshold in two parts, finds it whole, batch-deletes it, and nothing is left", async () => {
      const name = await bucket();
      const run = await probe(name, ownerKey);
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(
        run.stdout,
        /^multipart probe: 5242881 bytes in 2 parts of up to 5242880 to bucket \S+ on \S+ with mastodonAccessKeyId \(S3_MULTIPART_THRESHOLD 5242880\)$/m,
      );
      assert.deepEqual(verdictLines(run), [
        "ok   mastodon-multipart",
        "ok   mastodon-batch-delete",
        "ok   cleanup",
      ]);
      assert.equal(run.stderr, "");
      // RGW's own access log: the calls Mastodon's client makes, as RGW received them.
      const calls = rgw
        .rgwLog()
        .split("\n")
        .filter((l) => l.includes(`/${name}`))
        .map((l) => /"(\w+) \/[^ ?"]*(\?[a-zA-Z]+)?[^"]*" (\d{3})/.exec(l))
        .filter((m) => m !== null)
        .map((m) => `${m[1]}${m[2] ?? ""} ${m[3]}`);
      for (const call of ["POST?uploads 200", "PUT?partNumber 200", "POST?uploadId 200", "POST?delete 200"]) {
        assert.ok(calls.includes(call), `${call} not in RGW's log:\n${calls.join("\n")}`);
      }
      assert.deepEqual(await left(name), []);
    });

    test("a key without write access fails at mastodon-multipart naming CreateMultipartUpload, RGW's 403 AccessDenied and S3_MULTIPART_THRESHOLD", async () => {
      const name = await bucket();
      const run = await probe(name, readOnlyKey);
      assertFailedAt(run, "mastodon-multipart", "multipart probe");
      assert.match(
        run.stdout,
        new RegExp(
          `^FAIL mastodon-multipart: mastodonAccessKeyId cannot upload in parts to bucket ${name}: CreateMultipartUpload answered HTTP 403 AccessDenied — give the key read and write on this bucket; if single uploads work \\(mastodon-write\\), Mastodon uploads files of S3_MULTIPART_THRESHOLD \\(5242880 bytes\\) or more this way \\(mastodon/mastodon#30601\\): set S3_MULTIPART_THRESHOLD in mastodonEnvExtra above the largest file your instance accepts`,
          "m",
        ),
      );
      assert.deepEqual(await left(name), []);
    });

    test("a key that may write but not delete uploads in parts, then fails at mastodon-batch-delete with RGW's 403 AccessDenied, and says what its cleanup left", async () => {
      const name = await bucket();
      const run = await probe(name, writeOnlyKey, "e2AccessKeyId");
      assertFailedAt(run, "mastodon-batch-delete", "multipart probe");
      assert.deepEqual(verdictLines(run)[0], "ok   mastodon-multipart");
      assert.match(
        run.stdout,
        new RegExp(
          `^FAIL mastodon-batch-delete: e2AccessKeyId cannot batch-delete from bucket ${name}: DeleteObjects answered HTTP 403 AccessDenied — give the key read and write on this bucket: Mastodon deletes media with DeleteObjects \\(app/lib/attachment_batch\\.rb\\) and no Mastodon setting avoids it`,
          "m",
        ),
      );
      // Its own DeleteObject is refused too, and the line says what was left.
      assert.match(
        run.stdout,
        /^FAIL cleanup: e2AccessKeyId cannot delete from bucket \S+: AccessDenied .*\(left behind: _probe\/[0-9a-f]{32}-multipart\.bin\)$/m,
      );
      const remaining = await left(name);
      assert.equal(remaining.length, 1);
      await admin.send(new DeleteObjectCommand({ Bucket: name, Key: remaining[0] }));
    });
  },
);
