import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { HANG_LIMIT_MS } from "./support/hang-limit";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { nodeVersionProblem, requiredMajor } = require("./support/node-version.cjs") as {
  nodeVersionProblem(version: string, required?: number): string | undefined;
  requiredMajor(): number;
};
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { countLine, finalReport, taskLine } = require("./support/npm-test-report.cjs") as {
  countLine(results: TaskResult[]): string;
  finalReport(results: TaskResult[]): string;
  taskLine(result: TaskResult): string;
};

interface TaskResult {
  name: string;
  code: number | null;
  out: string;
  seconds: number;
}

const RUN_ALL = path.join(__dirname, "run-all.cjs");

test("the Node version npm test needs is package.json's engines.node minimum", () => {
  assert.equal(requiredMajor(), 22);
});

test("Node 20 is refused with the version needed and the command that provides it; 22 and 24 pass", () => {
  const problem = nodeVersionProblem("v20.19.2");
  assert.ok(problem);
  assert.match(problem, /needs Node\.js 22 or newer/);
  assert.match(problem, /this shell runs Node v20\.19\.2/);
  assert.match(problem, /`source \.ci\/node-env\.sh`/);
  assert.match(problem, /for this shell only/);
  assert.equal(nodeVersionProblem("v22.0.0"), undefined);
  assert.equal(nodeVersionProblem("v24.21.0"), undefined);
  assert.ok(nodeVersionProblem("v21.7.3"));
});

/** A `node` on PATH older than npm test needs (a system Node beside the project's Node 24), if any. */
function olderNodeOnPath(): { bin: string; version: string } | undefined {
  for (const dir of (process.env.PATH ?? "").split(path.delimiter)) {
    const bin = path.join(dir, "node");
    try {
      accessSync(bin, constants.X_OK);
    } catch {
      continue;
    }
    const version = spawnSync(bin, ["--version"], {
      encoding: "utf8",
      timeout: HANG_LIMIT_MS,
    }).stdout?.trim();
    if (version && nodeVersionProblem(version)) return { bin, version };
  }
  return undefined;
}

const older = olderNodeOnPath();
test(
  older
    ? `run-all.cjs under a real older Node (${older.version}) exits 1 at once with the message`
    : "run-all.cjs under a real older Node: skipped, no Node older than 22 on PATH",
  { skip: !older },
  () => {
    const r = spawnSync(older!.bin, [RUN_ALL], { encoding: "utf8", timeout: HANG_LIMIT_MS });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, /needs Node\.js 22 or newer/);
    assert.match(r.stderr, /source \.ci\/node-env\.sh/);
    // Nothing was started: no task line, no count.
    assert.equal(r.stdout, "");
  },
);

const passing = (name: string, out: string, seconds = 1.5): TaskResult => ({ name, code: 0, out, seconds });

test("a passing run prints task lines, the count line on its own and the verdict, not the tasks' output", () => {
  const results = [
    passing(
      "tests (in process)",
      "✔ a\nwarning: [runtime] Mastodon gets the program's own e2 key\nℹ pass 5\nℹ fail 0\nℹ skipped 1\n",
    ),
    passing("tests (processes and servers)", "ℹ pass 3\nℹ fail 0\nℹ skipped 0\n"),
    passing("typecheck", ""),
  ];
  assert.equal(taskLine(results[2]), "  passed  typecheck                        1.5 s");
  const report = finalReport(results);
  assert.match(report, /^8 passed, 0 failed, 1 skipped$/m);
  assert.match(report, /^npm test passed: typecheck, lint, tests$/m);
  assert.ok(!report.includes("warning: [runtime]"), report);
  assert.ok(!report.includes("✔ a"), report);
});

test("a failing run shows the failed task's whole output, and only that task's", () => {
  const lint = "error  Unexpected any  @typescript-eslint/no-explicit-any\n".repeat(40);
  const results = [
    passing("typecheck", "noise from a passing task"),
    { name: "lint", code: 1, out: lint, seconds: 9 },
  ];
  assert.match(taskLine(results[1]), /^ {2}FAILED {2}lint +9\.0 s {2}\(exit 1; /);
  const report = finalReport(results);
  assert.ok(report.includes(lint.trimEnd()), "the lint output is cut");
  assert.ok(!report.includes("noise from a passing task"));
  assert.match(report, /^===== lint: FAILED \(exit 1\) in 9\.0 s$/m);
  assert.match(report, /^npm test FAILED: lint$/m);
});

test("counts and failing output come from real node:test output, as run-all runs it", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "run-all-"));
  try {
    const file = path.join(dir, "sample.test.mjs");
    writeFileSync(
      file,
      [
        'import { test } from "node:test";',
        'test("passes", () => {});',
        'test("is skipped: sample reason", { skip: "sample reason" }, () => {});',
        'test("fails", () => { console.error("printed by the failing test"); throw new Error("boom 42"); });',
      ].join("\n"),
    );
    const r = spawnSync(process.execPath, ["--test", "--test-isolation=none", file], {
      encoding: "utf8",
      timeout: HANG_LIMIT_MS,
      // Without this runner's own context (NODE_TEST_CONTEXT makes a child report to its parent instead).
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("NODE_TEST"))),
    });
    const result: TaskResult = {
      name: "tests (sample)",
      code: r.status,
      out: r.stdout + r.stderr,
      seconds: 0.5,
    };
    assert.equal(countLine([result]), "1 passed, 1 failed, 1 skipped", result.out);
    const report = finalReport([result]);
    assert.match(report, /boom 42/);
    assert.match(report, /printed by the failing test/);
    assert.match(report, /^npm test FAILED: tests \(sample\)$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
