// The bucket policy exactly as the program registers it, applied to a Ceph RGW bucket and judged by RGW
// itself with anonymous (unsigned) requests: media under every public prefix readable, users' archives and
// import files not, and no listing, writing, deleting or reading the policy.
import assert from "node:assert/strict";
import * as https from "node:https";
import { after, before, describe, it } from "node:test";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { PRIVATE_PREFIXES, PUBLIC_MEDIA_PREFIXES, PROBE_PREFIX } from "../components/media-paths";
import { cephRgwSkipReason, sharedCephRgw, type CephRgw } from "./support/ceph-rgw";
import { runProgram } from "./support/program-run";
import { minimalConfig } from "./support/stack-config";
import { HANG_LIMIT_MS } from "./support/hang-limit";

const skip = cephRgwSkipReason();
const BUCKET = "media-policy";
const PUBLIC_KEYS = [...PUBLIC_MEDIA_PREFIXES, PROBE_PREFIX].map((p) =>
  p === PROBE_PREFIX ? `${p}check-object` : `${p}000/000/001/original/picture.png`,
);
// Where Mastodon keeps what must stay private (app/models/backup.rb, app/models/import.rb).
const PRIVATE_KEYS = [
  "backups/dumps/000/000/001/original/archive-20261130.zip",
  "imports/data/000/000/002/original/following_accounts.csv",
  "index.html",
];

/** An unsigned request, as a reader's browser (or Cloudflare fetching from e2) sends it. */
function anonymous(rgw: CephRgw, method: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      `${rgw.httpsUrl}${path}`,
      {
        method,
        ca: rgw.caPem,
        timeout: HANG_LIMIT_MS,
        headers: method === "PUT" ? { "content-length": "2" } : {},
      },
      (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c));
        res.on("end", () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on("error", reject);
    req.end(method === "PUT" ? "hi" : undefined);
  });
}

describe(
  skip ? `bucket policy judged by Ceph RGW (skipped: ${skip})` : "bucket policy judged by Ceph RGW",
  { skip },
  () => {
    let rgw: CephRgw;
    let s3: S3Client;
    let policy: string;

    before(async () => {
      const [started, program] = await Promise.all([
        sharedCephRgw(),
        runProgram(minimalConfig({ bucket: BUCKET })),
      ]);
      rgw = started;
      const registered = program.registrations.filter((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy");
      assert.equal(registered.length, 1);
      assert.equal(registered[0]!.inputs.bucket, BUCKET);
      policy = registered[0]!.inputs.policy as string;

      const key = await rgw.createUser("policy-owner");
      s3 = new S3Client({
        endpoint: rgw.httpsUrl,
        region: "us-east-1",
        forcePathStyle: true,
        credentials: key,
        maxAttempts: 1,
        requestChecksumCalculation: "WHEN_REQUIRED",
        requestHandler: {
          connectionTimeout: HANG_LIMIT_MS,
          requestTimeout: HANG_LIMIT_MS,
          httpsAgent: new https.Agent({ ca: rgw.caPem }),
        },
      });
      await s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
      // No ACL header, as Mastodon uploads with the env block's empty S3_PERMISSION: objects are private.
      for (const Key of [...PUBLIC_KEYS, ...PRIVATE_KEYS]) {
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: `content of ${Key}` }));
      }
    });
    after(() => s3?.destroy()); // the shared cluster stops when the process exits

    it("without the policy, anonymous readers get nothing (control)", async () => {
      assert.equal((await anonymous(rgw, "GET", `/${BUCKET}/${PUBLIC_KEYS[0]}`)).status, 403);
    });

    it("RGW accepts the program's policy document as it is", async () => {
      await s3.send(new PutBucketPolicyCommand({ Bucket: BUCKET, Policy: policy }));
    });

    for (const key of PUBLIC_KEYS) {
      it(`anonymous GET under ${key.slice(0, key.indexOf("/") + 1)}… is allowed: ${key}`, async () => {
        const { status, body } = await anonymous(rgw, "GET", `/${BUCKET}/${key}`);
        assert.equal(status, 200);
        assert.equal(body, `content of ${key}`);
      });
    }

    for (const key of PRIVATE_KEYS) {
      it(`anonymous GET of ${key} is refused`, async () => {
        assert.equal((await anonymous(rgw, "GET", `/${BUCKET}/${key}`)).status, 403);
      });
    }

    it("the private keys tested cover every private prefix", () => {
      for (const prefix of PRIVATE_PREFIXES)
        assert.ok(
          PRIVATE_KEYS.some((k) => k.startsWith(prefix)),
          prefix,
        );
    });

    const media = `/${BUCKET}/${PUBLIC_KEYS[0]}`;
    for (const [what, method, path] of [
      ["listing the bucket", "GET", `/${BUCKET}`],
      ["listing a public prefix", "GET", `/${BUCKET}?prefix=media_attachments/`],
      ["listing object versions", "GET", `/${BUCKET}?versions`],
      ["reading the policy", "GET", `/${BUCKET}?policy`],
      ["reading the bucket ACL", "GET", `/${BUCKET}?acl`],
      ["writing a new object under a public prefix", "PUT", `/${BUCKET}/media_attachments/files/new.png`],
      ["overwriting a public object", "PUT", media],
      ["deleting a public object", "DELETE", media],
      ["deleting a private archive", "DELETE", `/${BUCKET}/${PRIVATE_KEYS[0]}`],
      ["deleting the policy", "DELETE", `/${BUCKET}?policy`],
      ["deleting the bucket", "DELETE", `/${BUCKET}`],
    ] as const) {
      it(`anonymous ${what} (${method} ${path.replace(`/${BUCKET}`, "")}) is refused`, async () => {
        assert.equal((await anonymous(rgw, method, path)).status, 403);
      });
    }

    it("the seed guide's policy (GetObject on <bucket>/*) would publish a user's archive (control)", async () => {
      await s3.send(new CreateBucketCommand({ Bucket: "seed-guide" }));
      await s3.send(new PutObjectCommand({ Bucket: "seed-guide", Key: PRIVATE_KEYS[0], Body: "archive" }));
      const wholeBucket = {
        Version: "2012-10-17",
        Statement: [
          { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::seed-guide/*" },
        ],
      };
      await s3.send(
        new PutBucketPolicyCommand({ Bucket: "seed-guide", Policy: JSON.stringify(wholeBucket) }),
      );
      assert.equal((await anonymous(rgw, "GET", `/seed-guide/${PRIVATE_KEYS[0]}`)).status, 200);
    });

    it("after all that, every object is still there unchanged", async () => {
      for (const Key of [...PUBLIC_KEYS, ...PRIVATE_KEYS]) {
        const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }));
        assert.equal(await got.Body!.transformToString(), `content of ${Key}`);
      }
    });
  },
);
