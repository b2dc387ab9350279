// The media check as the whole program registers it, loaded the way `pulumi up` loads it (fresh process,
// Pulumi's own ts-node) from two copies of the program in different folders. The check's inputs must not
// depend on where the checkout is (otherwise a no-op `pulumi up` from another clone or a CI runner would
// re-run it), and Mastodon's key from the stack config must reach it as secrets.
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runAsPulumi } from "./support/pulumi-child";
import { PROJECT_DIR } from "./support/program-run";
import { SECRET_VALUES, fullKeys, minimalConfig } from "./support/stack-config";
import { isSecretWrapper, type Registration } from "./support/mock-run";

/** What the program needs to load; node_modules is linked, not copied. */
const PROGRAM_ENTRIES = [
  "Pulumi.yaml",
  "package.json",
  "tsconfig.json",
  "index.ts",
  "components",
  "providers",
];

function checkout(label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `mastodon-media-${label}-`));
  for (const entry of PROGRAM_ENTRIES) {
    cpSync(path.join(PROJECT_DIR, entry), path.join(dir, entry), { recursive: true });
  }
  symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"), "dir");
  // An extra stack output, so the test can tell which copy each load really ran.
  appendFileSync(path.join(dir, "index.ts"), `export const checkoutMarker = ${JSON.stringify(label)};\n`);
  return dir;
}

// Hooks inside a describe: npm test runs several files in one process, where top-level hooks would be shared.
describe("the media check in the whole program, loaded from two checkouts", () => {
  const labels = ["clone-a", "ci-runner-b"];
  let dirs: string[] = [];
  let commands: Registration[] = [];
  const multipart: Registration[] = [];

  // The whole program, with Mastodon's own key configured, loaded from two copies at different paths.
  before(async () => {
    dirs = labels.map(checkout);
    const config = fullKeys(
      minimalConfig({
        mastodonAccessKeyId: SECRET_VALUES.mastodonAccessKeyId,
        mastodonSecretAccessKey: SECRET_VALUES.mastodonSecretAccessKey,
      }),
    );
    // Both loads in parallel; transpile-only because type-checking is pulumi-load's business.
    const runs = await Promise.all(
      dirs.map((programDir) =>
        runAsPulumi({ programDir, stack: "dev", ...config }, { PULUMI_NODEJS_TRANSPILE_ONLY: "true" }),
      ),
    );
    commands = runs.map((run, i) => {
      assert.ok(run.ok, `load from ${dirs[i]} failed: ${run.error?.message}\n${run.stderr}`);
      assert.equal(run.result!.outputs.checkoutMarker, labels[i], "the load did not run this copy");
      const found = run.result!.registrations.filter((r) => r.type === "command:local:Command");
      // The check and the multipart probe.
      assert.deepEqual(
        found.map((r) => r.name.replace(/^.*-media-check/, "media-check")),
        ["media-check-run", "media-check-multipart"],
      );
      multipart.push(found[1]);
      return found[0];
    });
  });
  after(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  test("two checkouts at different paths register the media check's Commands with identical inputs, naming neither path", () => {
    assert.deepEqual(commands[0].wireInputs, commands[1].wireInputs);
    assert.deepEqual(multipart[0].wireInputs, multipart[1].wireInputs);
    for (const [i, dir] of dirs.entries()) {
      const text = JSON.stringify([commands[i].wireInputs, multipart[i].wireInputs]);
      assert.ok(
        !text.includes(dir) && !text.includes(PROJECT_DIR),
        `a checkout path is in the inputs: ${text}`,
      );
    }
  });

  test("the stack's mastodonAccessKeyId and mastodonSecretAccessKey reach the check, each as a secret", () => {
    const wire = commands[0].wireInputs.environment as Record<string, unknown>;
    for (const name of ["MASTODON_ACCESS_KEY_ID", "MASTODON_SECRET_ACCESS_KEY"]) {
      assert.ok(isSecretWrapper(wire[name]), `${name} is not a secret`);
    }
    const env = commands[0].inputs.environment as Record<string, string>;
    assert.equal(env.MASTODON_ACCESS_KEY_ID, SECRET_VALUES.mastodonAccessKeyId);
    assert.equal(env.MASTODON_SECRET_ACCESS_KEY, SECRET_VALUES.mastodonSecretAccessKey);
    assert.equal(env.AWS_ACCESS_KEY_ID, SECRET_VALUES.e2AccessKeyId, "the program's key stays the program's");
  });
});
