// What the bucket policy means, checked with an independent IAM policy evaluator, not by reading its text.
// A second opinion beside tests/bucket-policy-rgw.test.ts, where Ceph RGW judges the same document: this one
// also covers actions RGW cannot be asked about anonymously in a meaningful way (ACL and multipart calls).
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { anonymousPrincipal, runSimulation, type Simulation } from "@cloud-copilot/iam-simulate";
import { publicReadPolicy } from "../components/bucket-policy";
import { PROBE_PREFIX, PUBLIC_MEDIA_PREFIXES } from "../components/media-paths";

async function anonymous(action: string, resource: string, policy: object): Promise<string> {
  const simulation = {
    request: {
      principal: anonymousPrincipal,
      action,
      resource: { resource, accountId: "123456789012" },
      contextVariables: {},
    },
    identityPolicies: [],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    resourcePolicy: policy,
  } as unknown as Simulation;
  const response = (await runSimulation(simulation, {})) as { overallResult?: string; errors?: unknown };
  assert.equal(
    response.errors,
    undefined,
    `simulation rejected its input: ${JSON.stringify(response.errors)}`,
  );
  return response.overallResult ?? "no result";
}

const policy = publicReadPolicy("files");

for (const prefix of [...PUBLIC_MEDIA_PREFIXES, PROBE_PREFIX]) {
  test(`anonymous read of an object under ${prefix} is allowed`, async () => {
    assert.equal(
      await anonymous("s3:GetObject", `arn:aws:s3:::files/${prefix}1/original/a.png`, policy),
      "Allowed",
    );
  });
}

for (const key of [
  "backups/dumps/000/000/001/original/archive.zip",
  "imports/data/000/000/001/original/follows.csv",
  "a.png",
  "cache/backups/dumps/1/original/a.zip",
]) {
  test(`anonymous read of ${key} is denied`, async () => {
    assert.equal(await anonymous("s3:GetObject", `arn:aws:s3:::files/${key}`, policy), "ImplicitlyDenied");
  });
}

for (const [action, resource] of [
  ["s3:ListBucket", "arn:aws:s3:::files"],
  ["s3:ListBucketVersions", "arn:aws:s3:::files"],
  ["s3:PutObject", "arn:aws:s3:::files/media_attachments/files/a.png"],
  ["s3:DeleteObject", "arn:aws:s3:::files/media_attachments/files/a.png"],
  ["s3:PutObjectAcl", "arn:aws:s3:::files/media_attachments/files/a.png"],
  ["s3:AbortMultipartUpload", "arn:aws:s3:::files/media_attachments/files/a.png"],
  ["s3:PutBucketPolicy", "arn:aws:s3:::files"],
  ["s3:DeleteBucketPolicy", "arn:aws:s3:::files"],
  ["s3:GetBucketPolicy", "arn:aws:s3:::files"],
  ["s3:DeleteBucket", "arn:aws:s3:::files"],
  ["s3:GetObject", "arn:aws:s3:::other-bucket/media_attachments/files/a.png"],
] as const) {
  test(`anonymous ${action} on ${resource} is denied`, async () => {
    assert.equal(await anonymous(action, resource, policy), "ImplicitlyDenied");
  });
}

test("the evaluator does allow anonymous writes under a public read-write policy (control)", async () => {
  const publicReadWrite = {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: "*",
        Action: "s3:*",
        Resource: ["arn:aws:s3:::files", "arn:aws:s3:::files/*"],
      },
    ],
  };
  assert.equal(await anonymous("s3:PutObject", "arn:aws:s3:::files/a.png", publicReadWrite), "Allowed");
  assert.equal(await anonymous("s3:ListBucket", "arn:aws:s3:::files", publicReadWrite), "Allowed");
});

test("the policy has one statement: GetObject on each public prefix of the named bucket", () => {
  assert.deepEqual(publicReadPolicy("media-bucket", ["a/", "b/c/"]).Statement, [
    {
      Sid: "PublicReadMastodonMedia",
      Effect: "Allow",
      Principal: "*",
      Action: "s3:GetObject",
      Resource: ["arn:aws:s3:::media-bucket/a/*", "arn:aws:s3:::media-bucket/b/c/*"],
    },
  ]);
});
