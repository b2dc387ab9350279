// The E2Bucket component under Pulumi mocks: what it registers, with which inputs and options.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { E2Bucket } from "../components/e2-bucket";
import { PUBLICLY_READABLE_PREFIXES } from "../components/media-paths";
import * as pulumi from "@pulumi/pulumi";
import { E2BucketResource, E2_BUCKET_TYPE } from "../providers/e2-bucket";
import { installRecordingMocks, runInMockStack, type MockRunResult } from "./support/mock-run";

const KEY_ID = "E2KEYIDEXAMPLE123456";
const SECRET = "e2-secret-access-key-example-0123456789ab";

async function build(extra: { protect?: boolean; adopt?: boolean } = {}): Promise<MockRunResult> {
  const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
  await runInMockStack(() => {
    new E2Bucket("media", {
      bucketName: "files",
      endpoint: "s3.us-midwest-1.idrivee2.com",
      region: "us-midwest-1",
      accessKeyId: KEY_ID,
      secretAccessKey: SECRET,
      ...extra,
    });
  });
  return record;
}

const one = (r: MockRunResult, type: string) => {
  const found = r.registrations.filter((x) => x.type === type);
  assert.equal(found.length, 1, `expected one ${type}, got ${found.length}`);
  return found[0]!;
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

test("the aws provider's keys are sent as secrets", async () => {
  const provider = one(await build(), "pulumi:providers:aws");
  assert.deepEqual(provider.secretInputs.sort(), ["accessKey", "secretKey"]);
});

test("no aws.s3.Bucket is registered: the bucket is the e2 dynamic resource", async () => {
  const types = (await build()).registrations.map((x) => x.type);
  assert.deepEqual(
    types.filter((t) => t.startsWith("aws:s3/bucket")),
    ["aws:s3/bucketPolicy:BucketPolicy"],
  );
  assert.equal(E2_BUCKET_TYPE, "pulumi-nodejs:dynamic/mastodon-media/e2:Bucket");
  assert.ok(types.includes(E2_BUCKET_TYPE));
});

test("the bucket gets name, endpoint and region, the key as secret inputs and secret outputs", async () => {
  const bucket = one(await build(), E2_BUCKET_TYPE);
  assert.equal(bucket.name, "media-bucket");
  const { __provider, ...inputs } = bucket.inputs;
  assert.equal(typeof __provider, "string");
  assert.deepEqual(inputs, {
    bucket: "files",
    endpoint: "s3.us-midwest-1.idrivee2.com",
    region: "us-midwest-1",
    accessKeyId: KEY_ID,
    secretAccessKey: SECRET,
    adopt: false,
  });
  assert.deepEqual(bucket.secretInputs.sort(), ["accessKeyId", "secretAccessKey"]);
  assert.deepEqual(bucket.options.additionalSecretOutputs.sort(), ["accessKeyId", "secretAccessKey"]);
});

test("the e2 key's text appears nowhere in plain text: not in the serialized provider, not in any plain input", async () => {
  const r = await build();
  for (const x of r.registrations) {
    for (const [name, value] of Object.entries(x.wireInputs)) {
      if (x.secretInputs.includes(name)) continue;
      const text = JSON.stringify(value);
      assert.ok(!text.includes(KEY_ID) && !text.includes(SECRET), `${x.type} ${name} carries the key`);
    }
  }
  const provider = one(r, E2_BUCKET_TYPE).inputs.__provider as string;
  assert.ok(provider.length > 1000, "the serialized provider is there to search");
  assert.ok(!provider.includes(KEY_ID) && !provider.includes(SECRET));
});

test("the bucket is protected and retained on delete; no import option", async () => {
  const bucket = one(await build(), E2_BUCKET_TYPE);
  assert.equal(bucket.options.protect, true);
  assert.equal(bucket.options.retainOnDelete, true);
  assert.equal(bucket.options.importId, "");
  assert.equal(bucket.providerRef, "", "a dynamic resource has no provider reference of its own");
});

test("protection can be turned off explicitly; retainOnDelete stays on", async () => {
  const bucket = one(await build({ protect: false }), E2_BUCKET_TYPE);
  assert.equal(bucket.options.protect, false);
  assert.equal(bucket.options.retainOnDelete, true);
});

test("the policy uses the e2 aws provider and grants anonymous GetObject only under the public prefixes", async () => {
  const r = await build();
  const policy = one(r, "aws:s3/bucketPolicy:BucketPolicy");
  assert.ok(policy.providerRef.startsWith(`${one(r, "pulumi:providers:aws").urn}::`));
  assert.equal(policy.inputs.bucket, "files");
  assert.deepEqual(JSON.parse(policy.inputs.policy as string), {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "PublicReadMastodonMedia",
        Effect: "Allow",
        Principal: "*",
        Action: "s3:GetObject",
        Resource: PUBLICLY_READABLE_PREFIXES.map((p) => `arn:aws:s3:::files/${p}*`),
      },
    ],
  });
  assert.ok(!(policy.inputs.policy as string).includes("backups"));
});

test("the policy waits for the bucket", async () => {
  const r = await build();
  assert.ok(
    one(r, "aws:s3/bucketPolicy:BucketPolicy").options.dependencies.includes(one(r, E2_BUCKET_TYPE).urn),
  );
});

test("adopting passes adopt to the bucket and imports nothing: the policy is created over whatever the bucket had", async () => {
  const r = await build({ adopt: true });
  const bucket = one(r, E2_BUCKET_TYPE);
  assert.equal(bucket.inputs.adopt, true);
  assert.equal(bucket.options.importId, "");
  assert.equal(bucket.options.protect, true);
  assert.equal(one(r, "aws:s3/bucketPolicy:BucketPolicy").options.importId, "");
});

test("no ownership-controls, public-access-block or tagging resources are made (e2 lacks them)", async () => {
  const types = (await build()).registrations.map((x) => x.type);
  assert.deepEqual(
    types.filter((t) => /PublicAccessBlock|OwnershipControls|Tag/i.test(t)),
    [],
  );
});

test("bucket arguments known at construction are judged before anything is registered, without the key", async () => {
  const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
  await runInMockStack(() => {
    assert.throws(
      () =>
        new E2BucketResource("bad", {
          bucket: "Media_Files",
          endpoint: "https://s3.example/x",
          region: "us-midwest-1",
          accessKeyId: KEY_ID,
          secretAccessKey: `${SECRET} `,
        }),
      (e: unknown) => {
        assert.ok(pulumi.InputPropertiesError.isInstance(e));
        assert.deepEqual(
          e.errors.map((x) => x.propertyPath),
          ["bucket", "endpoint", "secretAccessKey"],
        );
        assert.ok(!e.message.includes(SECRET));
        return true;
      },
    );
  });
  assert.deepEqual(
    record.registrations.map((r) => r.type),
    ["pulumi:pulumi:Stack"],
  );
});
