// The e2 bucket provider as Pulumi stores it (serialized text, from tsx's and from TypeScript's own emit), run
// by @pulumi/pulumi's dynamic-provider host in a fresh Node process over gRPC, against Ceph RGW over HTTPS:
// create, adopt, the refusals, read (refresh), update, diff, and delete leaving the bucket. radosgw's access
// log shows which S3 calls the provider made; the key's text is searched for everywhere it could leak.
/* eslint-disable @typescript-eslint/no-explicit-any -- protobuf messages from the host's generated modules */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as ts from "typescript";
import {
  explainCreateBucketError,
  E2BucketResource,
  E2_BUCKET_TYPE,
  makeE2BucketProvider,
  validateBucketInputs,
} from "../providers/e2-bucket";
import { cephRgwSkipReason, sharedCephRgw, type CephRgw, type S3Key } from "./support/ceph-rgw";
import {
  providerProto,
  startDynamicProviderHost,
  struct,
  type DynamicProviderHost,
} from "./support/dynamic-provider-host";
import { installRecordingMocks, runInMockStack } from "./support/mock-run";
import { HANG_LIMIT_MS } from "./support/hang-limit";

const skip = cephRgwSkipReason();
const URN = `urn:pulumi:test::mastodon-media::mastodon-media:e2:Bucket$${E2_BUCKET_TYPE}::media-bucket`;

/** The provider text exactly as the program registers it (tsx emit), taken from a mock registration. */
async function serializeFromProgram(key: S3Key): Promise<string> {
  const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
  await runInMockStack(() => {
    new E2BucketResource("media-bucket", {
      bucket: "files",
      endpoint: "s3.us-midwest-1.idrivee2.com",
      region: "us-midwest-1",
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
    });
  });
  const [registration] = record.registrations.filter((r) => r.type === E2_BUCKET_TYPE);
  return registration!.inputs.__provider as string;
}

/** The provider serialized from TypeScript's CommonJS emit, as `pulumi up` (ts-node) compiles it. */
async function serializeFromTypeScriptEmit(): Promise<{ text: string; containsSecrets: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), "e2-bucket-"));
  try {
    const source = readFileSync(join(__dirname, "..", "providers", "e2-bucket.ts"), "utf8");
    const { outputText } = ts.transpileModule(source, {
      fileName: "e2-bucket.ts",
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    writeFileSync(join(dir, "e2-bucket.js"), outputText);
    const serialize = String.raw`
      const pulumi = require("@pulumi/pulumi");
      const { e2BucketProvider } = require(process.argv[1]);
      pulumi.runtime.serializeFunction(() => e2BucketProvider, { allowSecrets: true }).then((sf) => {
        process.stdout.write(JSON.stringify({ text: sf.text, containsSecrets: sf.containsSecrets }));
      });`;
    const { NODE_OPTIONS: _dropped, ...env } = process.env;
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        ["--no-experimental-strip-types", "-e", serialize, join(dir, "e2-bucket.js")],
        {
          env: { ...env, NODE_PATH: join(__dirname, "..", "node_modules") },
          stdio: ["ignore", "pipe", "pipe"],
        },
      );
      let stdout = "";
      let stderr = "";
      const timer = setTimeout(() => child.kill(), HANG_LIMIT_MS);
      child.stdout.on("data", (c: Buffer) => (stdout += c));
      child.stderr.on("data", (c: Buffer) => (stderr += c));
      child.on("close", (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`serialization failed (${code}): ${stderr}`));
      });
    });
    return JSON.parse(out);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** S3 requests radosgw logged for `uid`, as "METHOD /path status". */
function requestsBy(rgw: CephRgw, uid: string): string[] {
  return rgw
    .rgwLog()
    .split("\n")
    .map((line) => / - (\S+) \[[^\]]*\] "(\w+) (\S+) HTTP\/[\d.]+" (\d{3})/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null && m[1] === uid)
    .map((m) => `${m[2]} ${m[3]} ${m[4]}`);
}

describe("check and diff (pure, no network)", () => {
  const provider = makeE2BucketProvider({ connectionTimeoutMs: 1, requestTimeoutMs: 1, maxAttempts: 1 });
  const news = {
    bucket: "files",
    endpoint: "s3.us-midwest-1.idrivee2.com",
    region: "us-midwest-1",
    accessKeyId: "KEYID",
    secretAccessKey: "SECRET VALUE",
    adopt: false,
  };

  it("names each bad input, never echoing the key", () => {
    const failures = validateBucketInputs({
      ...news,
      bucket: "Media_Files",
      endpoint: "https://x/y",
      adopt: "yes",
    });
    assert.deepEqual(
      failures.map((f) => f.property),
      ["bucket", "endpoint", "secretAccessKey", "adopt"],
    );
    assert.ok(!JSON.stringify(failures).includes("SECRET VALUE"));
    assert.match(failures[0]!.reason, /"Media_Files"/);
  });

  it("defaults adopt to false", async () => {
    const { adopt: _omitted, ...rest } = { ...news, secretAccessKey: "S" };
    const result = await provider.check!({} as any, rest as any);
    assert.deepEqual(result.failures, []);
    assert.equal(result.inputs!.adopt, false);
  });

  it("ignores __provider and adopt; a new key is an update; a new name or endpoint is a replacement", async () => {
    const d = (olds: object, changed: object) =>
      provider.diff!("files", { ...news, created: true, ...olds } as any, { ...news, ...changed } as any);
    assert.deepEqual(await d({ __provider: "old text" }, { __provider: "new text", adopt: true }), {
      changes: false,
      replaces: [],
      deleteBeforeReplace: false,
    });
    assert.deepEqual((await d({}, { secretAccessKey: "ROTATED" })).replaces, []);
    assert.equal((await d({}, { secretAccessKey: "ROTATED" })).changes, true);
    assert.deepEqual((await d({}, { bucket: "other", endpoint: "e2.test" })).replaces, [
      "bucket",
      "endpoint",
    ]);
  });
});

describe(
  skip ? `e2 bucket provider on Ceph RGW (skipped: ${skip})` : "e2 bucket provider on Ceph RGW",
  { skip },
  () => {
    let rgw: CephRgw;
    let host: DynamicProviderHost;
    let key: S3Key;
    let providerText: string;
    let compiled: Promise<{ text: string; containsSecrets: boolean }>;
    const errors: string[] = [];

    before(async () => {
      compiled = serializeFromTypeScriptEmit();
      compiled.catch(() => undefined); // awaited by its own test
      rgw = await sharedCephRgw();
      const hostStarting = startDynamicProviderHost({ NODE_EXTRA_CA_CERTS: rgw.caFile });
      key = await rgw.createUser("pulumi");
      providerText = await serializeFromProgram(key);
      host = await hostStarting;
    });
    after(() => host?.close()); // the shared cluster stops when the process exits

    const props = (bucket: string, extra: Record<string, unknown> = {}, text = providerText) => ({
      bucket,
      endpoint: rgw.endpointHost,
      region: "us-midwest-1",
      accessKeyId: key.accessKeyId,
      secretAccessKey: key.secretAccessKey,
      adopt: false,
      __provider: text,
      ...extra,
    });
    const create = async (properties: Record<string, unknown>) => {
      const request = new providerProto.CreateRequest();
      request.setUrn(URN);
      request.setProperties(struct(properties));
      const response = await host.call("create", request);
      return { id: response.getId() as string, outs: response.getProperties().toJavaScript() };
    };
    const failure = async (run: Promise<unknown>): Promise<string> => {
      const error = await run.then(
        () => assert.fail("expected the call to fail"),
        (e: Error) => e,
      );
      errors.push(error.message);
      return error.message;
    };
    const read = async (id: string, properties: Record<string, unknown>) => {
      const request = new providerProto.ReadRequest();
      request.setId(id);
      request.setUrn(URN);
      request.setProperties(struct(properties));
      const response = await host.call("read", request);
      return { id: response.getId() as string, props: response.getProperties()?.toJavaScript() };
    };

    it("serializes without the key and requires only @aws-sdk/client-s3 and node: modules", () => {
      assert.ok(!providerText.includes(key.accessKeyId) && !providerText.includes(key.secretAccessKey));
      const required = [...providerText.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
      assert.ok(required.includes("@aws-sdk/client-s3"));
      for (const name of required) assert.match(name!, /^(node:|@aws-sdk\/client-s3$)/, name);
    });

    // RGW refuses a LocationConstraint naming a region it does not know ("us-midwest-1"), which the SDK would
    // add on its own: that this passes shows CreateBucket went without one, as iDrive's guide sends it.
    it("creates an absent bucket with HeadBucket then CreateBucket (no LocationConstraint), and nothing else", async () => {
      const { id, outs } = await create(props("files"));
      assert.equal(id, "files");
      assert.equal(outs.created, true);
      assert.equal(outs.__provider, providerText, "the host records the provider with the outputs");
      assert.deepEqual(requestsBy(rgw, "pulumi"), ["HEAD /files/ 404", "PUT /files/ 200"]);
      assert.match(await rgw.admin(["bucket", "list"]), /"files"/);
    });

    it("refuses an existing bucket without adoption, pointing at adopt.bucket, after one HeadBucket", async () => {
      const before = requestsBy(rgw, "pulumi").length;
      const message = await failure(create(props("files")));
      assert.match(message, /bucket "files" on 127\.0\.0\.1:\d+ already exists/);
      assert.match(message, /adopt\.bucket/);
      assert.deepEqual(requestsBy(rgw, "pulumi").slice(before), ["HEAD /files/ 200"]);
    });

    it("adopts an existing bucket with adopt: true, with HeadBucket only", async () => {
      const before = requestsBy(rgw, "pulumi").length;
      const { id, outs } = await create(props("files", { adopt: true }));
      assert.equal(id, "files");
      assert.equal(outs.created, false);
      assert.deepEqual(requestsBy(rgw, "pulumi").slice(before), ["HEAD /files/ 200"]);
    });

    it("refuses to adopt a bucket that does not exist, without creating it", async () => {
      const message = await failure(create(props("missing-bucket", { adopt: true })));
      assert.match(message, /adopt\.bucket is true but bucket "missing-bucket" .* does not exist/);
      assert.doesNotMatch(await rgw.admin(["bucket", "list"]), /missing-bucket/);
    });

    // RGW, like S3, answers 403 to HeadBucket on another user's bucket; ListBuckets then shows the key works.
    it("refuses a bucket another account owns (HeadBucket 403): leads with choosing another name, then the key's causes", async () => {
      const other = await rgw.createUser("someone-else");
      const otherText = await serializeFromProgram(other);
      await create({
        ...props("theirs", {}, otherText),
        accessKeyId: other.accessKeyId,
        secretAccessKey: other.secretAccessKey,
      });
      const before = requestsBy(rgw, "pulumi").length;
      const message = await failure(create(props("theirs")));
      assert.match(
        message,
        /(?:^|: )Could not check bucket "theirs" on 127\.0\.0\.1:\d+: .*HTTP 403.*\. The name is probably owned by another e2 account \(the key works, and this account has no bucket of that name\): choose another name \(config key "bucket"/,
      );
      assert.match(message, /media-<first label of your domain>/);
      assert.match(
        message,
        /Otherwise the e2 key is limited to other buckets in the e2 console, or its key ID or secret is wrong/,
      );
      assert.deepEqual(requestsBy(rgw, "pulumi").slice(before), [
        "HEAD /theirs/ 403",
        "GET /?x-id=ListBuckets 200",
      ]);
      assert.doesNotMatch(await rgw.admin(["bucket", "list", "--uid", "pulumi"]), /theirs/);
    });

    it("a wrong secret (HeadBucket 403) is named as the key's fault, not another account's, without quoting the key", async () => {
      const message = await failure(create(props("files", { secretAccessKey: `${key.secretAccessKey}x` })));
      assert.match(message, /HTTP 403/);
      assert.match(message, /The e2 key ID or secret is wrong: e2 refused the key itself/);
      assert.doesNotMatch(message, /another e2 account/);
    });

    it("reads (refresh) an existing bucket with HeadBucket, keeping the provider", async () => {
      const state = { ...props("files"), created: true };
      const result = await read("files", state);
      assert.equal(result.id, "files");
      assert.equal(result.props.bucket, "files");
      assert.equal(result.props.__provider, providerText);
    });

    it("an update with a rotated key only checks the bucket is reachable with it", async () => {
      const rotated = await rgw.createUser("pulumi-rotated");
      await rgw.admin(["bucket", "link", "--bucket", "files", "--uid", "pulumi-rotated"]);
      const request = new providerProto.UpdateRequest();
      request.setId("files");
      request.setUrn(URN);
      request.setOlds(struct({ ...props("files"), created: true }));
      request.setNews(
        struct({
          ...props("files"),
          accessKeyId: rotated.accessKeyId,
          secretAccessKey: rotated.secretAccessKey,
        }),
      );
      const outs = (await host.call("update", request)).getProperties().toJavaScript();
      assert.equal(outs.accessKeyId, rotated.accessKeyId);
      assert.equal(outs.created, true);
      assert.deepEqual(requestsBy(rgw, "pulumi-rotated"), ["HEAD /files/ 200"]);
      await rgw.admin(["bucket", "link", "--bucket", "files", "--uid", "pulumi"]);
    });

    it("diff in the host: no change when only __provider differs", async () => {
      const request = new providerProto.DiffRequest();
      request.setId("files");
      request.setUrn(URN);
      request.setOlds(
        struct({ ...props("files"), created: true, __provider: "text from an older compiler" }),
      );
      request.setNews(struct(props("files")));
      const response = await host.call("diff", request);
      assert.equal(response.getChanges(), providerProto.DiffResponse.DiffChanges.DIFF_NONE);
    });

    it("delete leaves the bucket and its objects in place and says so", async () => {
      const request = new providerProto.DeleteRequest();
      request.setId("files");
      request.setUrn(URN);
      request.setProperties(struct({ ...props("files"), created: true }));
      const before = requestsBy(rgw, "pulumi").length;
      await host.call("delete", request);
      assert.match(await rgw.admin(["bucket", "list"]), /"files"/);
      assert.deepEqual(requestsBy(rgw, "pulumi").slice(before), [], "delete sends nothing to e2");
      assert.match(host.stderr(), /left bucket "files" on 127\.0\.0\.1:\d+ in place/);
    });

    it("a refresh of a bucket removed outside Pulumi drops it from state (empty id)", async () => {
      await create(props("short-lived"));
      await rgw.admin(["bucket", "rm", "--bucket", "short-lived"]);
      const result = await read("short-lived", { ...props("short-lived"), created: true });
      assert.equal(result.id, "");
    });

    it("the provider compiled by TypeScript's CommonJS emit creates a bucket in the host too", async () => {
      const { text, containsSecrets } = await compiled;
      assert.equal(containsSecrets, false);
      assert.ok(!text.includes(key.secretAccessKey));
      const { id, outs } = await create(props("compiled", {}, text));
      assert.equal(id, "compiled");
      assert.equal(outs.created, true);
    });

    it("RGW's own refusal of a LocationConstraint (what the SDK sends unasked) becomes the console-and-adopt message", async () => {
      const { CreateBucketCommand, S3Client } = await import("@aws-sdk/client-s3");
      const https = await import("node:https");
      const sdkDefault = new S3Client({
        endpoint: rgw.httpsUrl,
        region: "us-midwest-1",
        forcePathStyle: true,
        credentials: key,
        maxAttempts: 1,
        requestHandler: { httpsAgent: new https.Agent({ ca: rgw.caPem }) },
      });
      const refusal = await sdkDefault.send(new CreateBucketCommand({ Bucket: "with-location" })).then(
        () => assert.fail("RGW accepted an unknown location constraint"),
        (e: Error) => e,
      );
      sdkDefault.destroy();
      assert.equal(refusal.name, "InvalidLocationConstraint");
      const inputs = { ...props("with-location"), created: undefined } as any;
      const message = explainCreateBucketError(refusal, inputs).message;
      errors.push(message);
      assert.match(
        message,
        /refused to create bucket "with-location" .* location constraint \(InvalidLocationConstraint/,
      );
      assert.match(message, /e2 console .* adopt\.bucket to true/);
    });

    it("no error and nothing the host logged contains the key's text", () => {
      assert.ok(errors.length >= 4, "the refusals above were collected");
      const everything = errors.join("\n") + host.stderr();
      assert.ok(!everything.includes(key.secretAccessKey), "secret access key leaked");
      assert.ok(!everything.includes(key.accessKeyId), "access key ID leaked");
    });
  },
);
