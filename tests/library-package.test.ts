// MastodonMediaStorage as a library in another TypeScript Pulumi program: this repository packed with
// `npm pack` (which runs `prepare`, the library build), the tarball unpacked into a consumer's node_modules
// where npm puts it, type-checked against the shipped declarations, run under mocks the way `pulumi up` loads
// a program, and the bucket provider it registered run in Pulumi's dynamic-provider host from the consumer's
// directory against Ceph RGW.
// Not `npm install` of the tarball: that resolves the whole dependency tree again (minutes here, and no
// registry offline). The package's own files come from the real tarball; its dependencies are the ones this
// repository installed, linked entry by entry into the consumer's node_modules, where npm would hoist them.
/* eslint-disable @typescript-eslint/no-explicit-any -- protobuf messages from the host's generated modules */
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { E2_BUCKET_TYPE } from "../providers/e2-bucket";
import { cephRgwSkipReason, sharedCephRgw, type CephRgw, type S3Key } from "./support/ceph-rgw";
import { providerProto, startDynamicProviderHost, struct } from "./support/dynamic-provider-host";
import { installRecordingMocks, plaintextOccurrences, type MockRunResult } from "./support/mock-run";
import { runAsPulumi } from "./support/pulumi-child";
import { PROJECT_DIR } from "./support/program-run";

const skip = cephRgwSkipReason();
const BUCKET = "consumer-media";
const ZONE_ID = "0123456789abcdef0123456789abcdef";

/** Runs a command to its end; resolves with its exit code and output. */
function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  const { NODE_OPTIONS: _dropped, ...env } = process.env;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, out }));
  });
}

const CONSUMER_PROGRAM = `import * as pulumi from "@pulumi/pulumi";
import { MastodonMediaStorage, type MastodonMediaStorageArgs } from "mastodon-media";

const config = new pulumi.Config();
const args: MastodonMediaStorageArgs = {
  domain: "example.social",
  bucket: config.require("bucket"),
  e2Endpoint: config.require("endpoint"),
  e2Region: "us-midwest-1",
  e2AccessKeyId: config.requireSecret("e2AccessKeyId"),
  e2SecretAccessKey: config.requireSecret("e2SecretAccessKey"),
  cloudflareZoneId: "${ZONE_ID}",
  edgeRules: ["ssl", "cache"],
};
const media = new MastodonMediaStorage("media", args);
export const mediaHost = media.mediaHost;
export const mastodonEnv = media.mastodonEnv;
export const e2ConsoleInstructions = media.e2ConsoleInstructions;
`;

// Wrong on purpose: the shipped declarations must reject it.
const BAD_PROGRAM = `import type { MastodonMediaStorageArgs } from "mastodon-media";
export const args: MastodonMediaStorageArgs = { domain: "example.social", e2Endpoint: 443, e2AccessKeyId: "k", e2SecretAccessKey: "s" };
`;

/** Packs this repository and lays out a consumer program that depends on the tarball. */
async function makeConsumer(dir: string): Promise<{ consumer: string; packOutput: string }> {
  const packed = await run("npm", ["pack", "--silent", "--pack-destination", dir], PROJECT_DIR);
  assert.equal(packed.code, 0, `npm pack failed:\n${packed.out}`);
  const tarball = packed.out.trim().split("\n").pop()!;
  const consumer = join(dir, "consumer");
  const modules = join(consumer, "node_modules");
  mkdirSync(modules, { recursive: true });
  const untar = await run("tar", ["-xzf", join(dir, tarball), "-C", modules], dir);
  assert.equal(untar.code, 0, untar.out);
  renameSync(join(modules, "package"), join(modules, "mastodon-media"));
  for (const entry of readdirSync(join(PROJECT_DIR, "node_modules"))) {
    if (entry === ".bin" || entry.startsWith(".")) continue;
    symlinkSync(join(PROJECT_DIR, "node_modules", entry), join(modules, entry));
  }
  writeFileSync(
    join(consumer, "package.json"),
    JSON.stringify({
      name: "consumer",
      private: true,
      dependencies: { "mastodon-media": `file:../${tarball}` },
    }),
  );
  writeFileSync(join(consumer, "Pulumi.yaml"), "name: consumer\nruntime: nodejs\n");
  const compilerOptions = {
    strict: true,
    target: "ES2022",
    module: "nodenext",
    moduleResolution: "nodenext",
    types: ["node"],
    skipLibCheck: true,
  };
  writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify({ compilerOptions, files: ["index.ts"] }));
  writeFileSync(
    join(consumer, "tsconfig.check.json"),
    JSON.stringify({ compilerOptions: { ...compilerOptions, noEmit: true }, files: ["index.ts", "bad.ts"] }),
  );
  writeFileSync(join(consumer, "index.ts"), CONSUMER_PROGRAM);
  writeFileSync(join(consumer, "bad.ts"), BAD_PROGRAM);
  return { consumer, packOutput: packed.out };
}

describe(
  skip ? `mastodon-media as a package (skipped: ${skip})` : "mastodon-media as a package in another program",
  { skip },
  () => {
    let dir: string;
    let consumer: string;
    let rgw: CephRgw;
    let key: S3Key;
    let consumerRun: MockRunResult;

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), "mastodon-media-library-"));
      const rgwStarting = sharedCephRgw();
      ({ consumer } = await makeConsumer(dir));
      rgw = await rgwStarting;
      key = await rgw.createUser("consumer");
    });
    after(() => rmSync(dir, { recursive: true, force: true }));

    it("the tarball holds the compiled library, its declarations and the media check, no TypeScript source", async () => {
      const listed = await run("tar", ["-tzf", readdirSync(dir).find((f) => f.endsWith(".tgz"))!], dir);
      const files = listed.out.trim().split("\n");
      for (const f of ["package/dist/lib.js", "package/dist/lib.d.ts", "package/dist/runtime/media-check.js"])
        assert.ok(files.includes(f), `${f} missing from the tarball`);
      assert.ok(files.includes("package/dist/runtime/merge-env.sh"));
      assert.deepEqual(
        files.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")),
        [],
        "TypeScript source in the tarball",
      );
    });

    it("importing the package registers nothing and reads no config", async () => {
      const record = await installRecordingMocks({ stack: "import", config: {}, secretKeys: [] });
      const library = createRequire(join(consumer, "index.ts"))("mastodon-media");
      assert.equal(typeof library.MastodonMediaStorage, "function");
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(record.registrations, []);
    });

    it("the consumer type-checks against the shipped declarations, which reject a wrongly typed argument", async () => {
      const tsc = join(PROJECT_DIR, "node_modules", "typescript", "bin", "tsc");
      const checked = await run(process.execPath, [tsc, "-p", "tsconfig.check.json"], consumer);
      assert.notEqual(checked.code, 0, "the wrong argument type was not caught");
      const errors = checked.out.split("\n").filter((l) => /error TS\d+/.test(l));
      assert.ok(errors.length > 0, checked.out);
      assert.ok(
        errors.every((l) => l.startsWith("bad.ts(")),
        `errors outside bad.ts:\n${errors.join("\n")}`,
      );
      assert.match(
        errors.join("\n"),
        /bad\.ts\(2,\d+\): error TS2322: Type 'number' is not assignable to type 'string'/,
      );
    });

    it("the consumer program runs as pulumi up loads it and registers the component with its bucket and no secret in plain text", async () => {
      const project = "consumer";
      const config = {
        [`${project}:bucket`]: BUCKET,
        // A real e2 endpoint shape (the arguments refuse host:port); the host below is pointed at RGW.
        [`${project}:endpoint`]: "s3.us-midwest-1.idrivee2.com",
        [`${project}:e2AccessKeyId`]: key.accessKeyId,
        [`${project}:e2SecretAccessKey`]: key.secretAccessKey,
      };
      const secretKeys = [`${project}:e2AccessKeyId`, `${project}:e2SecretAccessKey`];
      const child = await runAsPulumi({ programDir: consumer, project, stack: "test", config, secretKeys });
      assert.ok(child.ok, `consumer failed: ${child.error?.message}\n${child.stderr}`);
      assert.equal(child.tsNodeRegistered, true);
      consumerRun = child.result!;
      const types = consumerRun.registrations.map((r) => r.type);
      assert.ok(types.includes("mastodon-media:index:MastodonMediaStorage"));
      assert.equal(types.filter((t) => t === E2_BUCKET_TYPE).length, 1);
      assert.equal(types.filter((t) => t.startsWith("pulumi-nodejs:dynamic/")).length, 4, types.join("\n"));
      assert.equal(consumerRun.outputs.mediaHost, `${BUCKET}.example.social`);
      assert.match(String(consumerRun.outputs.e2ConsoleInstructions), /CNAME: \*\.example\.social/);
      for (const secret of [key.accessKeyId, key.secretAccessKey]) {
        for (const r of consumerRun.registrations)
          assert.deepEqual(plaintextOccurrences(r.wireInputs, secret), [], `${r.type} ${r.name}`);
      }
    });

    it("the media check command names the shipped check by package name, and it loads from the consumer's directory", async () => {
      assert.ok(consumerRun, "the consumer run failed");
      const check = consumerRun.registrations.find((r) => r.type === "command:local:Command");
      assert.equal(check?.inputs.create, `node -e "require('mastodon-media/media-check')"`);
      // Without its inputs the check stops at its own input validation (exit 2, runtime/media-check.ts): proof
      // that it was found and ran. The command provider runs it with sh -c in the project directory.
      const started = await run("sh", ["-c", String(check!.inputs.create)], consumer);
      assert.equal(started.code, 2, started.out);
      assert.match(started.out, /media check: invalid input/);
    });

    it("the bucket provider serialized from the consumer's node_modules creates the bucket on RGW from the consumer's directory", async () => {
      assert.ok(consumerRun, "the consumer run failed");
      const bucket = consumerRun.registrations.find((r) => r.type === E2_BUCKET_TYPE)!;
      const providerText = bucket.inputs.__provider as string;
      for (const secret of [key.accessKeyId, key.secretAccessKey])
        assert.ok(!providerText.includes(secret), "a key in the serialized provider");
      // State is shared between machines: the provider must not name where the package was installed.
      assert.ok(!providerText.includes(consumer), "the consumer's path in the serialized provider");
      assert.match(providerText, /require\("@aws-sdk\/client-s3"\)/);
      const host = await startDynamicProviderHost({ NODE_EXTRA_CA_CERTS: rgw.caFile }, consumer);
      try {
        const request = new providerProto.CreateRequest();
        request.setUrn(`urn:pulumi:test::consumer::${E2_BUCKET_TYPE}::media-storage-bucket`);
        request.setProperties(
          struct({
            bucket: BUCKET,
            endpoint: rgw.endpointHost,
            region: "us-midwest-1",
            accessKeyId: key.accessKeyId,
            secretAccessKey: key.secretAccessKey,
            adopt: false,
            __provider: providerText,
          }),
        );
        const response: any = await host.call("create", request);
        assert.equal(response.getId(), BUCKET);
      } finally {
        host.close();
      }
      assert.ok(JSON.parse(await rgw.admin(["bucket", "list"])).includes(BUCKET));
    });
  },
);
