import { test } from "node:test";
import * as assert from "node:assert/strict";
import { E2Bucket } from "../components/e2-bucket";
import { installRecordingMocks, runInMockStack, type MockRunResult } from "./support/mock-run";

async function build(extra: { protect?: boolean; adopt?: boolean } = {}): Promise<MockRunResult> {
  const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
  await runInMockStack(() => {
    new E2Bucket("media", {
      bucketName: "files",
      endpoint: "s3.us-midwest-1.idrivee2.com",
      region: "us-midwest-1",
      accessKeyId: "KEYID",
      secretAccessKey: "SECRET",
      ...extra,
    });
  });
  return record;
}

const one = (r: MockRunResult, type: string) => {
  const found = r.registrations.filter((x) => x.type === type);
  assert.equal(found.length, 1, `expected one ${type}, got ${found.length}`);
  return found[0];
};

test("the aws provider is aimed at the e2 endpoint, path-style, with AWS-only checks skipped", async () => {
  const provider = one(await build(), "pulumi:providers:aws");
  assert.equal(provider.name, "media-e2");
  assert.deepEqual(JSON.parse(provider.inputs.endpoints as string), [
    { s3: "https://s3.us-midwest-1.idrivee2.com" },
  ]);
  assert.equal(provider.inputs.region, "us-midwest-1");
  for (const flag of [
    "s3UsePathStyle",
    "skipCredentialsValidation",
    "skipRequestingAccountId",
    "skipRegionValidation",
    "skipMetadataApiCheck",
  ]) {
    assert.equal(provider.inputs[flag], "true", flag);
  }
});

test("the provider's keys are sent as secrets", async () => {
  const provider = one(await build(), "pulumi:providers:aws");
  assert.deepEqual(provider.secretInputs.sort(), ["accessKey", "secretKey"]);
});

test("the bucket and its policy use the e2 provider, never the default AWS one", async () => {
  const r = await build();
  const provider = one(r, "pulumi:providers:aws");
  for (const type of ["aws:s3/bucket:Bucket", "aws:s3/bucketPolicy:BucketPolicy"]) {
    assert.ok(
      one(r, type).providerRef.startsWith(`${provider.urn}::`),
      `${type} uses ${one(r, type).providerRef}`,
    );
  }
});

test("the bucket is named as configured, protected, and carries no tags", async () => {
  const bucket = one(await build(), "aws:s3/bucket:Bucket");
  assert.deepEqual(bucket.inputs, { bucket: "files" });
  assert.equal(bucket.options.protect, true);
  assert.equal(bucket.options.importId, "");
});

test("protection can be turned off explicitly", async () => {
  assert.equal(one(await build({ protect: false }), "aws:s3/bucket:Bucket").options.protect, false);
});

test("the policy grants anonymous GetObject on the bucket's objects and nothing else", async () => {
  const policy = one(await build(), "aws:s3/bucketPolicy:BucketPolicy");
  assert.equal(policy.inputs.bucket, "files");
  assert.deepEqual(JSON.parse(policy.inputs.policy as string), {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "PublicReadObjects",
        Effect: "Allow",
        Principal: "*",
        Action: "s3:GetObject",
        Resource: "arn:aws:s3:::files/*",
      },
    ],
  });
});

test("the policy waits for the bucket", async () => {
  const r = await build();
  assert.ok(
    one(r, "aws:s3/bucketPolicy:BucketPolicy").options.dependencies.includes(
      one(r, "aws:s3/bucket:Bucket").urn,
    ),
  );
});

test("adopting imports the existing bucket and policy by bucket name, still protected", async () => {
  const r = await build({ adopt: true });
  const bucket = one(r, "aws:s3/bucket:Bucket");
  assert.equal(bucket.options.importId, "files");
  assert.equal(bucket.options.protect, true);
  assert.equal(one(r, "aws:s3/bucketPolicy:BucketPolicy").options.importId, "files");
});

test("no ownership-controls, public-access-block or tagging resources are made (e2 lacks them)", async () => {
  const types = (await build()).registrations.map((x) => x.type);
  assert.deepEqual(
    types.filter((t) => /PublicAccessBlock|OwnershipControls|Tag/i.test(t)),
    [],
  );
});
