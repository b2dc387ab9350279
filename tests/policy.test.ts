// The CrossGuard pack, two ways. First each policy is called directly with arguments shaped the way
// @pulumi/policy's analyzer server builds them (it has no public test helper in 1.21). Then the pack is
// started exactly as `pulumi preview --policy-pack policy` starts it (@pulumi/pulumi's run-policy-pack, with
// ts-node type-checking, from the pack directory) and questioned over its real gRPC interface.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import type {
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationPolicy,
} from "@pulumi/policy";
import { AnalyzerClient } from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import {
  AnalyzeRequest,
  AnalyzeStackRequest,
  AnalyzerResource,
  AnalyzerResourceOptions,
  EnforcementLevel,
  type AnalyzeResponse,
} from "@pulumi/pulumi/proto/analyzer_pb";
import YAML from "yaml";
import { publicReadPolicy } from "../components/bucket-policy";
import { E2_BUCKET_TYPE } from "../providers/e2-bucket";
import { PACK_NAME, packArgs } from "../policy/pack";
import { runProgram } from "./support/program-run";
import { minimalConfig } from "./support/stack-config";
import { bucketPolicyAnonymousReadOnly } from "../policy/policies/bucket-policy-anonymous-read-only";
import { e2BucketProtected } from "../policy/policies/e2-bucket-protected";
import { mediaDnsRecordProxied } from "../policy/policies/media-dns-record-proxied";
import {
  certificateHostCovers,
  originCertificateCoversMediaHost,
} from "../policy/policies/origin-certificate-covers-media-host";
import {
  BUCKET,
  BUCKET_POLICY,
  BUCKET_V2,
  E2_BUCKET,
  DNS_RECORD,
  ORIGIN_CA_CERTIFICATE,
} from "../policy/resource-types";
import { HANG_LIMIT_MS } from "./support/hang-limit";

const PACK_DIR = path.join(__dirname, "..", "policy");
const COMPONENT = "mastodon-media:index:MastodonMediaStorage";

function urn(type: string, name: string): string {
  return `urn:pulumi:prod::mastodon-media::${COMPONENT}$${type}::${name}`;
}

function options(overrides: Partial<PolicyResourceOptions> = {}): PolicyResourceOptions {
  return {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    parent: `urn:pulumi:prod::mastodon-media::${COMPONENT}::media`,
    ...overrides,
  };
}

/** Thrown by `notApplicable`, as the analyzer server's own NotApplicableError is. */
class NotApplicable extends Error {}

interface Outcome {
  violations: string[];
  notApplicable?: string;
}

async function runResourcePolicy(
  policy: ResourceValidationPolicy,
  type: string,
  name: string,
  props: Record<string, unknown>,
  opts: Partial<PolicyResourceOptions> = {},
): Promise<Outcome> {
  const violations: string[] = [];
  const args: ResourceValidationArgs = {
    type,
    props,
    urn: urn(type, name),
    name,
    opts: options(opts),
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => ({}) as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
  const validate = policy.validateResource;
  assert.equal(typeof validate, "function", `${policy.name} has one validateResource function`);
  try {
    await (validate as Exclude<typeof validate, unknown[] | undefined>)(args, (message) =>
      violations.push(message),
    );
  } catch (e) {
    if (e instanceof NotApplicable) return { violations, notApplicable: e.message };
    throw e;
  }
  return { violations };
}

function stackResource(type: string, name: string, props: Record<string, unknown>): PolicyResource {
  return {
    type,
    props,
    urn: urn(type, name),
    name,
    opts: options(),
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  };
}

async function runStackPolicy(policy: StackValidationPolicy, resources: PolicyResource[]) {
  const violations: { message: string; urn?: string }[] = [];
  try {
    await policy.validateStack(
      {
        resources,
        stackTags: new Map(),
        getConfig: <T extends object>() => ({}) as T,
        notApplicable: (reason?: string): never => {
          throw new NotApplicable(reason);
        },
      },
      (message, urn) => violations.push({ message, urn }),
    );
  } catch (e) {
    if (e instanceof NotApplicable) return { violations, notApplicable: e.message };
    throw e;
  }
  return { violations, notApplicable: undefined };
}

// --- bucket policy ---------------------------------------------------------------------------------------

function statement(fields: Record<string, unknown>) {
  return {
    Sid: "PublicRead",
    Effect: "Allow",
    Principal: "*",
    Action: "s3:GetObject",
    Resource: "arn:aws:s3:::files/media_attachments/files/*",
    ...fields,
  };
}

function bucketPolicy(...statements: Record<string, unknown>[]) {
  return runResourcePolicy(bucketPolicyAnonymousReadOnly, BUCKET_POLICY, "media-policy", {
    bucket: "files",
    policy: JSON.stringify({ Version: "2012-10-17", Statement: statements }),
  });
}

describe("bucket-policy-anonymous-read-only", () => {
  test("the program's own public-read policy document passes", async () => {
    const outcome = await runResourcePolicy(bucketPolicyAnonymousReadOnly, BUCKET_POLICY, "media-policy", {
      bucket: "files",
      policy: JSON.stringify(publicReadPolicy("files")),
    });
    assert.deepEqual(outcome, { violations: [] });
  });

  test('anonymous GetObject passes with every principal spelling: "*", {AWS:"*"}, {AWS:["*"]}', async () => {
    for (const Principal of ["*", { AWS: "*" }, { AWS: ["*"] }]) {
      const outcome = await bucketPolicy(
        statement({
          Principal,
          Action: ["s3:GetObject"],
          Resource: ["arn:aws:s3:::files/media_attachments/files/*"],
        }),
      );
      assert.deepEqual(outcome.violations, [], JSON.stringify(Principal));
    }
  });

  test("a policy given as an object instead of JSON text is checked the same way", async () => {
    const outcome = await runResourcePolicy(bucketPolicyAnonymousReadOnly, BUCKET_POLICY, "media-policy", {
      policy: { Version: "2012-10-17", Statement: statement({ Action: "s3:PutObject" }) },
    });
    assert.deepEqual(outcome.violations, [
      'Statement "PublicRead" grants anonymous principals s3:PutObject; only s3:GetObject is allowed.',
    ]);
  });

  test("anything granted to a named principal (Mastodon's own key) is not this policy's concern", async () => {
    const outcome = await bucketPolicy(
      statement({
        Principal: { AWS: "arn:aws:iam::123456789012:user/mastodon" },
        Action: "s3:*",
        Resource: "*",
      }),
    );
    assert.deepEqual(outcome.violations, []);
  });

  test("a Deny statement for anonymous principals passes because it grants nothing", async () => {
    const outcome = await bucketPolicy(
      statement({}),
      statement({ Sid: "NoWrites", Effect: "Deny", Action: "s3:*", Resource: "arn:aws:s3:::files" }),
    );
    assert.deepEqual(outcome.violations, []);
  });

  test("s3:* granted to anonymous is a violation", async () => {
    const outcome = await bucketPolicy(statement({ Action: "s3:*" }));
    assert.deepEqual(outcome.violations, [
      'Statement "PublicRead" grants anonymous principals s3:*; only s3:GetObject is allowed.',
    ]);
  });

  test("a wildcard that covers GetObject and more (s3:Get*) is a violation", async () => {
    const outcome = await bucketPolicy(statement({ Principal: { AWS: ["*"] }, Action: ["s3:Get*"] }));
    assert.deepEqual(outcome.violations, [
      'Statement "PublicRead" grants anonymous principals s3:Get*; only s3:GetObject is allowed.',
    ]);
  });

  test("each extra action next to GetObject is named; action names compare case-insensitively", async () => {
    const outcome = await bucketPolicy(
      statement({ Action: ["S3:getobject", "s3:PutObject", "s3:DeleteObject"] }),
    );
    assert.deepEqual(outcome.violations, [
      'Statement "PublicRead" grants anonymous principals s3:PutObject, s3:DeleteObject; only s3:GetObject is allowed.',
    ]);
  });

  test("anonymous listing reports both the action and the bucket-level resource", async () => {
    const outcome = await bucketPolicy(
      statement({
        Sid: undefined,
        Principal: { AWS: "*" },
        Action: "s3:ListBucket",
        Resource: "arn:aws:s3:::files",
      }),
    );
    assert.deepEqual(outcome.violations, [
      "Statement #1 grants anonymous principals s3:ListBucket; only s3:GetObject is allowed.",
      'Statement #1 grants anonymous principals access to "arn:aws:s3:::files", which is not an object ARN (arn:aws:s3:::<bucket>/<key pattern>).',
    ]);
  });

  test("GetObject on a bucket ARN, an empty key or a wildcard bucket is a violation", async () => {
    const outcome = await bucketPolicy(
      statement({
        Resource: [
          "arn:aws:s3:::files/cache/media_attachments/files/*",
          "arn:aws:s3:::files",
          "arn:aws:s3:::files/",
          "arn:aws:s3:::*/*",
        ],
      }),
    );
    assert.deepEqual(outcome.violations, [
      'Statement "PublicRead" grants anonymous principals access to "arn:aws:s3:::files", "arn:aws:s3:::files/", "arn:aws:s3:::*/*", which is not an object ARN (arn:aws:s3:::<bucket>/<key pattern>).',
    ]);
  });

  test("GetObject on the whole bucket, or on backups/ and imports/, is a violation naming the ARNs", async () => {
    const outcome = await bucketPolicy(
      statement({
        Resource: [
          "arn:aws:s3:::files/*",
          "arn:aws:s3:::files/backups/*",
          "arn:aws:s3:::files/imports/data/*",
          "arn:aws:s3:::files/media_*",
          "arn:aws:s3:::files/accounts/avatars/*",
        ],
      }),
    );
    assert.equal(outcome.violations.length, 1);
    assert.match(
      outcome.violations[0]!,
      /^Statement "PublicRead" grants anonymous reads of "arn:aws:s3:::files\/\*", "arn:aws:s3:::files\/backups\/\*", "arn:aws:s3:::files\/imports\/data\/\*", "arn:aws:s3:::files\/media_\*", outside Mastodon's public media prefixes: users' archives \(backups\/\) would be readable\./,
    );
  });

  test("NotAction with an anonymous principal is a violation", async () => {
    const outcome = await bucketPolicy(statement({ Action: undefined, NotAction: "s3:DeleteObject" }));
    assert.deepEqual(outcome.violations, [
      'Statement "PublicRead" uses NotAction with an anonymous principal, which grants every action not listed.',
    ]);
  });

  test("NotPrincipal in an Allow statement is a violation whoever it names", async () => {
    const outcome = await bucketPolicy(
      statement({ Principal: undefined, NotPrincipal: { AWS: "arn:aws:iam::123456789012:root" } }),
    );
    assert.deepEqual(outcome.violations, [
      'Statement "PublicRead" allows with NotPrincipal, which grants everyone not listed, anonymous readers included.',
    ]);
  });

  test("NotResource with an anonymous principal is a violation", async () => {
    const outcome = await bucketPolicy(
      statement({ Resource: undefined, NotResource: "arn:aws:s3:::files/private/*" }),
    );
    assert.deepEqual(outcome.violations, [
      'Statement "PublicRead" uses NotResource with an anonymous principal, which grants every resource not listed.',
    ]);
  });

  test("a policy that is not JSON is a violation naming the parse error", async () => {
    const outcome = await runResourcePolicy(bucketPolicyAnonymousReadOnly, BUCKET_POLICY, "media-policy", {
      policy: "{ not json",
    });
    assert.equal(outcome.violations.length, 1);
    assert.match(outcome.violations[0], /^The bucket policy is not valid JSON \(.+\)\.$/);
  });

  test("other resource types are reported as not applicable", async () => {
    const outcome = await runResourcePolicy(bucketPolicyAnonymousReadOnly, BUCKET, "media", {});
    assert.deepEqual(outcome, {
      violations: [],
      notApplicable: `Policy only applies to resources of type '${BUCKET_POLICY}'`,
    });
  });
});

// --- DNS record ------------------------------------------------------------------------------------------

describe("media-dns-record-proxied", () => {
  const record = (props: Record<string, unknown>) =>
    runResourcePolicy(mediaDnsRecordProxied, DNS_RECORD, "media-record", {
      zoneId: "0123456789abcdef0123456789abcdef",
      name: "files.example.social",
      type: "CNAME",
      content: "s3.eu-central-2.idrivee2.com",
      ttl: 1,
      ...props,
    });

  test("a proxied CNAME passes", async () => {
    assert.deepEqual(await record({ proxied: true }), { violations: [] });
  });

  test("an unproxied CNAME is a violation", async () => {
    assert.deepEqual((await record({ proxied: false, ttl: 300 })).violations, [
      'DNS record "files.example.social" (CNAME) is not proxied: media would bypass Cloudflare\'s cache, edge rules and strict TLS. Set proxied: true.',
    ]);
  });

  test("a record that leaves proxied unset (Cloudflare's default is off) is a violation", async () => {
    assert.equal((await record({})).violations.length, 1);
  });

  test("A and AAAA records are held to the same rule, whatever the case of the type", async () => {
    assert.equal((await record({ type: "a", proxied: false })).violations.length, 1);
    assert.equal((await record({ type: "AAAA", proxied: false })).violations.length, 1);
  });

  test("a TXT record cannot be proxied and is not applicable", async () => {
    const outcome = await record({ type: "TXT", content: "verification", proxied: false });
    assert.deepEqual(outcome, { violations: [], notApplicable: "A TXT record cannot be proxied" });
  });

  test("other resource types are reported as not applicable", async () => {
    const outcome = await runResourcePolicy(mediaDnsRecordProxied, ORIGIN_CA_CERTIFICATE, "origin", {});
    assert.equal(outcome.notApplicable, `Policy only applies to resources of type '${DNS_RECORD}'`);
  });
});

// --- origin certificate ----------------------------------------------------------------------------------

describe("origin-certificate-covers-media-host", () => {
  const record = (name: string, type = "CNAME") =>
    stackResource(DNS_RECORD, "media-record", { name, type, proxied: true, ttl: 1 });
  const certificate = (...hostnames: string[]) =>
    stackResource(ORIGIN_CA_CERTIFICATE, "media-origin", { hostnames, requestType: "origin-rsa" });

  test("a certificate for the apex and the one-level wildcard covers the media host", async () => {
    const outcome = await runStackPolicy(originCertificateCoversMediaHost, [
      record("files.example.social"),
      certificate("example.social", "*.example.social"),
    ]);
    assert.deepEqual(outcome, { violations: [], notApplicable: undefined });
  });

  test("a certificate naming the media host exactly covers it, ignoring case and a trailing dot", async () => {
    const outcome = await runStackPolicy(originCertificateCoversMediaHost, [
      record("Files.Example.Social."),
      certificate("files.example.social"),
    ]);
    assert.deepEqual(outcome.violations, []);
  });

  test("a wildcard DNS record is covered by the same wildcard in the certificate", async () => {
    const outcome = await runStackPolicy(originCertificateCoversMediaHost, [
      record("*.example.social"),
      certificate("example.social", "*.example.social"),
    ]);
    assert.deepEqual(outcome.violations, []);
  });

  test("an apex-only certificate is a violation reported against the DNS record", async () => {
    const outcome = await runStackPolicy(originCertificateCoversMediaHost, [
      record("files.example.social"),
      certificate("example.social"),
    ]);
    assert.deepEqual(outcome.violations, [
      {
        message:
          'No origin certificate covers the media host "files.example.social" (certificate host names: example.social).',
        urn: urn(DNS_RECORD, "media-record"),
      },
    ]);
  });

  test("a wildcard two levels up does not cover the media host", async () => {
    const outcome = await runStackPolicy(originCertificateCoversMediaHost, [
      record("files.media.example.social"),
      certificate("*.example.social"),
    ]);
    assert.equal(outcome.violations.length, 1);
  });

  test("a stack with the record but no certificate is a violation", async () => {
    const outcome = await runStackPolicy(originCertificateCoversMediaHost, [record("files.example.social")]);
    assert.deepEqual(
      outcome.violations.map((v) => v.message),
      [
        'No origin certificate in the stack covers the media host "files.example.social": Full (strict) TLS needs one.',
      ],
    );
  });

  test("a record named relative to the zone is a violation because it cannot be checked", async () => {
    const outcome = await runStackPolicy(originCertificateCoversMediaHost, [
      record("files"),
      certificate("example.social", "*.example.social"),
    ]);
    assert.deepEqual(
      outcome.violations.map((v) => v.message),
      [
        'DNS record name "files" is not a full host name, so no certificate can be checked against it. Name the record <bucket>.<domain>.',
      ],
    );
  });

  test("a stack without an A, AAAA or CNAME record is not applicable", async () => {
    const outcome = await runStackPolicy(originCertificateCoversMediaHost, [
      record("_verify.example.social", "TXT"),
      certificate("example.social"),
    ]);
    assert.equal(outcome.notApplicable, "The stack has no A, AAAA or CNAME record");
  });

  test("certificateHostCovers: equal names and one-level wildcards only", () => {
    assert.equal(certificateHostCovers("*.example.social", "files.example.social"), true);
    assert.equal(certificateHostCovers("files.example.social", "FILES.example.social."), true);
    assert.equal(certificateHostCovers("*.example.social", "example.social"), false);
    assert.equal(certificateHostCovers("*.example.social", "a.files.example.social"), false);
    assert.equal(certificateHostCovers("*.social", "files.example.social"), false);
    assert.equal(certificateHostCovers("example.social", "files.example.social"), false);
  });
});

// --- bucket protection -----------------------------------------------------------------------------------

describe("e2-bucket-protected", () => {
  test("the pack's bucket type is the program's dynamic bucket resource", () => {
    assert.equal(E2_BUCKET, E2_BUCKET_TYPE);
  });

  test("a protected bucket passes", async () => {
    const outcome = await runResourcePolicy(
      e2BucketProtected,
      E2_BUCKET,
      "media",
      { bucket: "files" },
      { protect: true },
    );
    assert.deepEqual(outcome, { violations: [] });
  });

  test("an unprotected bucket is a violation naming it", async () => {
    const outcome = await runResourcePolicy(e2BucketProtected, E2_BUCKET, "media", { bucket: "files" });
    assert.deepEqual(outcome.violations, [
      'Bucket "media" is not protected: deleting it would delete every media file. Set the resource option protect: true.',
    ]);
  });

  test("an aws.s3.Bucket or the deprecated BucketV2, if ever added, is held to the same rule", async () => {
    for (const type of [BUCKET, BUCKET_V2]) {
      const outcome = await runResourcePolicy(e2BucketProtected, type, "media", { bucket: "files" });
      assert.equal(outcome.violations.length, 1, type);
    }
  });

  test("other resource types are reported as not applicable", async () => {
    const outcome = await runResourcePolicy(e2BucketProtected, BUCKET_POLICY, "media-policy", {});
    assert.equal(
      outcome.notApplicable,
      `Policy only applies to resources of type '${E2_BUCKET}', '${BUCKET}', '${BUCKET_V2}'`,
    );
  });
});

// --- the pack as a whole ---------------------------------------------------------------------------------

describe("policy pack definition", () => {
  test("the pack is mandatory, validly named, and holds the four guardrails under unique names", () => {
    assert.match(PACK_NAME, /^[a-zA-Z0-9-_.]{1,100}$/);
    assert.equal(packArgs.enforcementLevel, "mandatory");
    assert.deepEqual(
      packArgs.policies.map((p) => p.name),
      [
        "bucket-policy-anonymous-read-only",
        "media-dns-record-proxied",
        "origin-certificate-covers-media-host",
        "e2-bucket-protected",
      ],
    );
  });

  test("the pack directory declares a Node.js pack and the version PolicyPack reads from package.json", () => {
    const manifest = YAML.parse(readFileSync(path.join(PACK_DIR, "PulumiPolicy.yaml"), "utf8")) as {
      runtime: string;
    };
    assert.equal(manifest.runtime, "nodejs");
    const pkg = JSON.parse(readFileSync(path.join(PACK_DIR, "package.json"), "utf8")) as Record<
      string,
      unknown
    >;
    assert.match(String(pkg.version), /^\d+\.\d+\.\d+$/);
    // Dependencies must come from the project's node_modules: a second @pulumi/pulumi would be a second runtime.
    assert.equal(pkg.dependencies, undefined);
  });
});

// --- the pack as the CLI runs it -------------------------------------------------------------------------

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"; // how the engine marks a value not known during preview

/** Starts the pack the way the CLI's analyzer shim does and resolves with the port it prints. */
function startPack(): Promise<{ child: ChildProcess; port: number }> {
  const runner = require.resolve("@pulumi/pulumi/cmd/run-policy-pack", { paths: [PACK_DIR] });
  const child = spawn(process.execPath, [runner, "127.0.0.1:0", "."], {
    cwd: PACK_DIR,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new Promise((resolve, reject) => {
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`policy pack did not print its port within ${HANG_LIMIT_MS} ms: ${stderr}`));
    }, HANG_LIMIT_MS);
    child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /^(\d+)\s*$/m.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`policy pack exited with ${code} before serving: ${stderr}`));
    });
  });
}

function call<Req, Res>(
  method: (
    req: Req,
    md: grpc.Metadata,
    opts: Partial<grpc.CallOptions>,
    cb: (e: grpc.ServiceError | null, r: Res) => void,
  ) => unknown,
  request: Req,
): Promise<Res> {
  return new Promise((resolve, reject) =>
    method(request, new grpc.Metadata(), { deadline: Date.now() + HANG_LIMIT_MS }, (error, response) =>
      error ? reject(error) : resolve(response),
    ),
  );
}

function resourceOptions(protect = false): AnalyzerResourceOptions {
  return new AnalyzerResourceOptions().setProtect(protect);
}

function diagnostics(response: AnalyzeResponse) {
  return response.getDiagnosticsList().map((d) => ({
    policy: d.getPolicyname(),
    level: d.getEnforcementlevel(),
    message: d.getMessage(),
    urn: d.getUrn(),
  }));
}

describe("policy pack loaded by @pulumi/pulumi's run-policy-pack, as pulumi preview --policy-pack policy does", () => {
  let pack: { child: ChildProcess; port: number };
  let client: AnalyzerClient;

  before(async () => {
    pack = await startPack();
    client = new AnalyzerClient(`127.0.0.1:${pack.port}`, grpc.credentials.createInsecure());
  });

  after(() => {
    client?.close();
    pack?.child.kill();
  });

  test("it type-checks, starts, and reports its name, version and four mandatory policies", async () => {
    const info = await call(client.getAnalyzerInfo.bind(client), new Empty());
    assert.equal(info.getName(), PACK_NAME);
    assert.equal(info.getVersion(), "0.1.0");
    const policies = info.getPoliciesList().map((p) => [p.getName(), p.getEnforcementlevel()]);
    assert.deepEqual(
      policies,
      packArgs.policies.map((p) => [p.name, EnforcementLevel.MANDATORY]),
    );
  });

  test("a listable bucket policy sent by the engine comes back as mandatory violations", async () => {
    const policy = JSON.stringify({
      Version: "2012-10-17",
      Statement: [statement({ Action: ["s3:GetObject", "s3:ListBucket"] })],
    });
    const request = new AnalyzeRequest()
      .setType(BUCKET_POLICY)
      .setName("media-policy")
      .setUrn(urn(BUCKET_POLICY, "media-policy"))
      .setProperties(Struct.fromJavaScript({ bucket: "files", policy }))
      .setOptions(resourceOptions());
    const response = await call(client.analyze.bind(client), request);
    assert.deepEqual(diagnostics(response), [
      {
        policy: "bucket-policy-anonymous-read-only",
        level: EnforcementLevel.MANDATORY,
        // The server prefixes the policy's description; the engine, not the pack, attaches the resource.
        message: `${bucketPolicyAnonymousReadOnly.description}\nStatement "PublicRead" grants anonymous principals s3:ListBucket; only s3:GetObject is allowed.`,
        urn: "",
      },
    ]);
  });

  test("the protect option reaches e2-bucket-protected: set, no diagnostic; unset, a violation", async () => {
    const request = (protect: boolean) =>
      new AnalyzeRequest()
        .setType(E2_BUCKET)
        .setName("media")
        .setUrn(urn(E2_BUCKET, "media"))
        .setProperties(Struct.fromJavaScript({ bucket: "files" }))
        .setOptions(resourceOptions(protect));
    assert.deepEqual(diagnostics(await call(client.analyze.bind(client), request(true))), []);
    assert.deepEqual(
      diagnostics(await call(client.analyze.bind(client), request(false))).map((d) => d.policy),
      ["e2-bucket-protected"],
    );
  });

  test("a bucket policy not yet known during preview is an advisory note, not a pass or a failure", async () => {
    const request = new AnalyzeRequest()
      .setType(BUCKET_POLICY)
      .setName("media-policy")
      .setUrn(urn(BUCKET_POLICY, "media-policy"))
      .setProperties(Struct.fromJavaScript({ bucket: "files", policy: UNKNOWN }))
      .setOptions(resourceOptions());
    const [only, ...rest] = diagnostics(await call(client.analyze.bind(client), request));
    assert.deepEqual(rest, []);
    assert.equal(only.level, EnforcementLevel.ADVISORY);
    assert.match(only.message, /can't run policy 'bucket-policy-anonymous-read-only' .* during preview/);
  });

  test("every resource the real program registers under mocks passes the pack, alone and as a stack", async () => {
    const run = await runProgram(minimalConfig());
    const resources = run.registrations.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
    // Plain JSON, as the engine sends inputs (no undefined members).
    const props = (inputs: Record<string, unknown>) =>
      Struct.fromJavaScript(JSON.parse(JSON.stringify(inputs)));
    for (const r of resources) {
      const request = new AnalyzeRequest()
        .setType(r.type)
        .setName(r.name)
        .setUrn(r.urn)
        .setProperties(props(r.inputs))
        .setOptions(resourceOptions(r.options.protect));
      assert.deepEqual(diagnostics(await call(client.analyze.bind(client), request)), [], r.urn);
    }
    const stack = new AnalyzeStackRequest().setResourcesList(
      resources.map((r) =>
        new AnalyzerResource()
          .setType(r.type)
          .setName(r.name)
          .setUrn(r.urn)
          .setProperties(props(r.inputs))
          .setOptions(resourceOptions(r.options.protect)),
      ),
    );
    assert.deepEqual(diagnostics(await call(client.analyzeStack.bind(client), stack)), []);
    // The program's bucket and policy were among them (the Cloudflare resources join once the program has them).
    const types = new Set(resources.map((r) => r.type));
    assert.ok(types.has(E2_BUCKET) && types.has(BUCKET_POLICY), [...types].join(", "));
    assert.ok(!types.has(BUCKET) && !types.has(BUCKET_V2), "no aws.s3.Bucket is registered");
  });

  test("the stack check sees the DNS record and certificate and flags a certificate that misses the host", async () => {
    const resource = (type: string, name: string, props: Record<string, unknown>) =>
      new AnalyzerResource()
        .setType(type)
        .setName(name)
        .setUrn(urn(type, name))
        .setProperties(Struct.fromJavaScript(props as Record<string, never>))
        .setOptions(resourceOptions());
    const request = new AnalyzeStackRequest().setResourcesList([
      resource(DNS_RECORD, "media-record", {
        name: "files.example.social",
        type: "CNAME",
        proxied: true,
        ttl: 1,
      }),
      resource(ORIGIN_CA_CERTIFICATE, "media-origin", { hostnames: ["example.org", "*.example.org"] }),
    ]);
    assert.deepEqual(diagnostics(await call(client.analyzeStack.bind(client), request)), [
      {
        policy: "origin-certificate-covers-media-host",
        level: EnforcementLevel.MANDATORY,
        message: `${originCertificateCoversMediaHost.description}\nNo origin certificate covers the media host "files.example.social" (certificate host names: example.org, *.example.org).`,
        urn: urn(DNS_RECORD, "media-record"),
      },
    ]);
  });
});
