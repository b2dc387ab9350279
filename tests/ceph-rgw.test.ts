// The Ceph RGW harness itself: two clusters side by side, real S3 over HTTPS with the test CA, a read-only
// key that really cannot write, and nothing left running after stop().
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import * as https from "node:https";
import { after, before, describe, it } from "node:test";
import {
  CreateBucketCommand,
  GetObjectCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import {
  cephRgwSkipReason,
  SHARED_DNS_NAME,
  sharedCephRgw,
  startCephRgw,
  type CephRgw,
  type S3Key,
} from "./support/ceph-rgw";
import { HANG_LIMIT_MS } from "./support/hang-limit";

const skip = cephRgwSkipReason();

function client(rgw: CephRgw, key: S3Key): S3Client {
  return new S3Client({
    endpoint: rgw.httpsUrl,
    region: "us-east-1",
    forcePathStyle: true,
    credentials: key,
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: HANG_LIMIT_MS,
      requestTimeout: HANG_LIMIT_MS,
      httpsAgent: new https.Agent({ ca: rgw.caPem }),
    },
  });
}

function pidsOf(dir: string): string[] {
  const out = execFileSync("ps", ["-eo", "pid,stat,args"], { encoding: "utf8" });
  return out
    .split("\n")
    .filter((line) => line.includes(dir) && !/\sZ/.test(line.slice(0, 16)))
    .map((line) => line.trim().split(/\s+/)[0]);
}

describe(skip ? `Ceph RGW harness (skipped: ${skip})` : "Ceph RGW harness", { skip }, () => {
  let a: CephRgw;
  let b: CephRgw;
  before(async () => {
    // `a` is the process's shared cluster (stopped at exit), `b` one of this test's own.
    [a, b] = await Promise.all([sharedCephRgw(), startCephRgw()]);
  });
  after(async () => {
    await b?.stop();
  });

  it("two clusters run side by side on different ports and serve S3 over HTTPS signed by the test CA", async () => {
    assert.notEqual(a.endpointHost, b.endpointHost);
    const keyB = await b.createUser("alice");
    const s3 = client(b, keyB);
    await s3.send(new CreateBucketCommand({ Bucket: "harness" }));
    await s3.send(new PutObjectCommand({ Bucket: "harness", Key: "k", Body: "hello" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: "harness", Key: "k" }));
    assert.equal(await got.Body!.transformToString(), "hello");
    // The other cluster knows neither the key nor the bucket.
    const keyA = await a.createUser("harness-bob");
    await assert.rejects(
      client(a, keyA).send(new GetObjectCommand({ Bucket: "harness", Key: "k" })),
      (e: S3ServiceException) => e.name === "NoSuchBucket",
    );
    await assert.rejects(
      client(a, keyB).send(new GetObjectCommand({ Bucket: "harness", Key: "k" })),
      (e: S3ServiceException) => e.name === "InvalidAccessKeyId",
    );
  });

  it("with dnsName, Host <bucket>.<dnsName> addresses the bucket (e2's custom-domain shape)", async () => {
    const owner = await a.createUser("harness-dave");
    await client(a, owner).send(new CreateBucketCommand({ Bucket: "by-host" }));
    await client(a, owner).send(
      new PutObjectCommand({ Bucket: "by-host", Key: "media/x.txt", Body: "via host" }),
    );
    const policy = {
      Version: "2012-10-17",
      Statement: [
        { Effect: "Allow", Principal: "*", Action: "s3:GetObject", Resource: "arn:aws:s3:::by-host/media/*" },
      ],
    };
    await client(a, owner).send(
      new PutBucketPolicyCommand({ Bucket: "by-host", Policy: JSON.stringify(policy) }),
    );
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.get(
        `${a.httpsUrl}/media/x.txt`,
        {
          ca: a.caPem,
          servername: "localhost",
          headers: { host: `by-host.${SHARED_DNS_NAME}` },
          timeout: HANG_LIMIT_MS,
        },
        (res) => {
          let text = "";
          res.on("data", (c: Buffer) => (text += c));
          res.on("end", () =>
            res.statusCode === 200 ? resolve(text) : reject(new Error(`HTTP ${res.statusCode}`)),
          );
        },
      );
      req.on("error", reject);
    });
    assert.equal(body, "via host");
  });

  it("a read-only key reads its user's objects but PUT is refused with AccessDenied", async () => {
    const owner = await a.createUser("harness-carol");
    await client(a, owner).send(new CreateBucketCommand({ Bucket: "carol-bucket" }));
    await client(a, owner).send(new PutObjectCommand({ Bucket: "carol-bucket", Key: "x", Body: "1" }));
    const readOnly = await a.createReadOnlyKey("harness-carol");
    const ro = client(a, readOnly);
    const got = await ro.send(new GetObjectCommand({ Bucket: "carol-bucket", Key: "x" }));
    assert.equal(await got.Body!.transformToString(), "1");
    await assert.rejects(
      ro.send(new PutObjectCommand({ Bucket: "carol-bucket", Key: "y", Body: "2" })),
      (e: S3ServiceException) => e.name === "AccessDenied" && e.$metadata.httpStatusCode === 403,
    );
  });

  it("stop() ends every daemon and removes the cluster's directory", async () => {
    const dir = b.caFile.replace(/\/ca\.pem$/, "");
    assert.ok(pidsOf(dir).length >= 3, "mon, osd and radosgw should be running");
    await b.stop();
    assert.deepEqual(pidsOf(dir), []);
    assert.equal(existsSync(dir), false);
    process.stdout.write(
      `# ceph-rgw start: ${a.startMs.toFixed(0)} and ${b.startMs.toFixed(0)} ms (two at once)\n`,
    );
  });
});
