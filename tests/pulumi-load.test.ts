// The program loads the way `pulumi up` loads it: @pulumi/pulumi's own run entry registers ts-node with this
// project's tsconfig and typescript, type-checking, in a fresh process. Not through the test loader.
import { describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { cpSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { EXAMPLE_STACK, readStackConfig } from "../tools/stack-file";
import { runAsPulumi } from "./support/pulumi-child";
import { PROJECT_DIR } from "./support/program-run";
import { SECRET_VALUES, fullKeys, minimalConfig } from "./support/stack-config";

// Each test loads the program in its own process, so they can run side by side.
describe("loading the program as pulumi up does", { concurrency: true }, () => {
  // The first type-checked load fills ts-node's cache; the bad-config load waits for it rather than
  // type-checking the same files a second time at the same moment.
  let firstLoadDone: () => void = () => {};
  const firstLoad = new Promise<void>((resolve) => (firstLoadDone = resolve));

  test("the example stack loads through Pulumi's ts-node and registers the bucket and its policy", async () => {
    const { config, secretKeys } = readStackConfig(PROJECT_DIR, EXAMPLE_STACK);
    const run = await runAsPulumi({
      programDir: PROJECT_DIR,
      stack: EXAMPLE_STACK,
      config,
      secretKeys,
    }).finally(firstLoadDone);
    assert.ok(run.ok, `load failed: ${run.error?.message}\n${run.stderr}`);
    assert.equal(run.tsNodeRegistered, true, "ts-node was not registered for .ts");
    const types = run.result!.registrations.map((r) => r.type);
    assert.ok(types.includes("pulumi-nodejs:dynamic/mastodon-media/e2:Bucket"));
    assert.ok(!types.includes("aws:s3/bucket:Bucket"));
    assert.ok(types.includes("aws:s3/bucketPolicy:BucketPolicy"));
    assert.equal(run.result!.outputs.mediaHost, "media-example.example.social");
  });

  test("bad config stops the program in Pulumi's runtime with every key named and nothing registered", async () => {
    const raw = minimalConfig({ bucket: "Media_Files", dnsRecord: "apex" });
    const { config, secretKeys } = fullKeys(raw);
    // e2SecretAccessKey stored in plain text: left out of the secret keys.
    const plainSecret = secretKeys.filter((k) => !k.endsWith(":e2SecretAccessKey"));
    await firstLoad;
    const run = await runAsPulumi({ programDir: PROJECT_DIR, stack: "bad", config, secretKeys: plainSecret });
    assert.equal(run.ok, false);
    assert.equal(run.error?.name, "ConfigError");
    const message = run.error!.message;
    assert.match(message, /nothing was created or changed/);
    assert.match(message, /mastodon-media:bucket is "Media_Files"/);
    assert.match(message, /mastodon-media:dnsRecord is "apex"; expected one of "host", "wildcard"/);
    assert.match(message, /mastodon-media:e2SecretAccessKey is stored in plain text/);
    assert.ok(!message.includes(SECRET_VALUES.e2SecretAccessKey), "the secret leaked into the message");
    assert.ok(!run.stderr.includes(SECRET_VALUES.e2SecretAccessKey), "the secret leaked into the output");
    // Only the stack itself, which Pulumi registers before the program starts.
    assert.deepEqual(
      run.record?.registrations.map((r) => r.type),
      ["pulumi:pulumi:Stack"],
    );
  });

  test("a type error fails the load, so ts-node really type-checks with this project's tsconfig", async () => {
    // A one-line program next to this project's own tsconfig, package.json and Pulumi.yaml: the same
    // registration path as the real program, without paying for a second cold check of all of it.
    const copy = mkdtempSync(path.join(tmpdir(), "mastodon-media-typecheck-"));
    try {
      for (const entry of ["Pulumi.yaml", "package.json", "tsconfig.json"]) {
        cpSync(path.join(PROJECT_DIR, entry), path.join(copy, entry));
      }
      symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(copy, "node_modules"), "dir");
      // Valid JavaScript, wrong TypeScript: only a type-checking load rejects it.
      writeFileSync(path.join(copy, "index.ts"), `export const typeCheckProbe: number = "not a number";\n`);
      const run = await runAsPulumi({ programDir: copy, stack: "dev", ...fullKeys(minimalConfig()) });
      assert.equal(run.ok, false);
      assert.match(run.error!.message, /TS2322: Type 'string' is not assignable to type 'number'/);
      assert.doesNotMatch(run.error!.message, /TS5011/);
    } finally {
      rmSync(copy, { recursive: true, force: true });
    }
  });

  test("with PULUMI_NODEJS_TRANSPILE_ONLY=true, as the deploy workflow runs after npm test type-checked, it loads too", async () => {
    const { config, secretKeys } = readStackConfig(PROJECT_DIR, EXAMPLE_STACK);
    const run = await runAsPulumi(
      { programDir: PROJECT_DIR, stack: EXAMPLE_STACK, config, secretKeys },
      { PULUMI_NODEJS_TRANSPILE_ONLY: "true" },
    );
    assert.ok(run.ok, `load failed: ${run.error?.message}`);
    assert.equal(run.result!.outputs.mediaHost, "media-example.example.social");
  });
});
