// The media check's inputs do not depend on where the checkout is: the program, copied to two different
// folders, is loaded from each the way `pulumi up` loads it (fresh process, Pulumi's own ts-node) and must
// register the check's Command with identical inputs, naming neither folder. Otherwise a no-op `pulumi up`
// from another clone or a CI runner would re-run the check.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { appendFileSync, cpSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { runAsPulumi } from "./support/pulumi-child";
import { PROJECT_DIR } from "./support/program-run";
import { SECRET_VALUES, fullKeys, minimalConfig } from "./support/stack-config";
import type { Registration } from "./support/mock-run";

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

test("two checkouts at different paths register the media check's Command with identical inputs, naming neither path", async () => {
  const labels = ["clone-a", "ci-runner-b"];
  const dirs = labels.map(checkout);
  try {
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
    const commands = runs.map((run, i) => {
      assert.ok(run.ok, `load from ${dirs[i]} failed: ${run.error?.message}\n${run.stderr}`);
      const found = run.result!.registrations.filter((r) => r.type === "command:local:Command");
      assert.equal(found.length, 1);
      return found[0];
    });
    const [a, b] = commands.map((c: Registration) => c.wireInputs);
    assert.deepEqual(a, b);
    for (const [i, dir] of dirs.entries()) {
      const text = JSON.stringify(commands[i].wireInputs);
      assert.ok(
        !text.includes(dir) && !text.includes(PROJECT_DIR),
        `a checkout path is in the inputs: ${text}`,
      );
      assert.equal(runs[i].result!.outputs.checkoutMarker, labels[i], "the load did not run this copy");
    }
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
});
