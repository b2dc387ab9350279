// Runs the real checker (runtime/media-check.ts) as a child process, the way the Command runs it: from the
// project root, inputs in the environment only. Plus the assertions every media-check test makes on a run.
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { HANG_LIMIT_MS } from "./hang-limit";
import { PROJECT_DIR } from "./program-run";

export interface CheckRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the checker (or `script`, e.g. the multipart probe) with only the given environment (plus PATH), killed
 * if it outlives `limitMs`.
 */
export function runCheck(
  env: Record<string, string>,
  limitMs = HANG_LIMIT_MS,
  onStdout?: (soFar: string, child: ChildProcess) => void,
  script = "runtime/media-check.ts",
): Promise<CheckRun> {
  return new Promise((done, fail) => {
    // Not process.env: the test runner's NODE_TEST_CONTEXT would turn the child into a test process.
    const child = spawn(process.execPath, ["--import", "tsx", script], {
      cwd: PROJECT_DIR,
      env: { PATH: process.env.PATH ?? "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      onStdout?.(stdout, child);
    });
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    const killer = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("error", fail);
    child.on("close", (code) => {
      clearTimeout(killer);
      done({ code, stdout, stderr });
    });
  });
}

/** None of `secrets` is printed, and nothing shaped like a SigV4 signature (64 hex digits) either. */
export function assertNothingSecretPrinted(run: CheckRun, secrets: string[]): void {
  const printed = run.stdout + run.stderr;
  for (const secret of secrets) assert.ok(!printed.includes(secret), "a key or secret was printed");
  assert.doesNotMatch(printed, /[0-9a-f]{64}/, "something like a request signature was printed");
}

/**
 * Fails unless the run failed at `check`; returns the seconds the script says it ran (its own clock).
 * `what` is how the script names itself ("media check", "multipart probe").
 */
export function assertFailedAt(run: CheckRun, check: string, what = "media check"): number {
  assert.notEqual(run.code, 0, `expected a failure:\n${run.stdout}${run.stderr}`);
  const m = new RegExp(`${what} failed at ${check} after (\\d+\\.\\d)s: `).exec(run.stderr);
  assert.ok(m, run.stdout + run.stderr);
  assert.match(run.stdout, new RegExp(`^FAIL ${check}: `, "m"));
  return Number(m[1]);
}

/** The `ok`/`FAIL` lines of a run, in order. */
export function verdictLines(run: CheckRun): string[] {
  return run.stdout.split("\n").filter((l) => /^(ok|FAIL) /.test(l));
}

/** The program key's probe, from the first line the checker prints (`media check of https://host/<key> …`). */
export function probeKeyOf(run: CheckRun): string {
  const m = /^media check of https:\/\/[^/]+\/(_probe\/[0-9a-f]{32}\.txt) /m.exec(run.stdout);
  assert.ok(m, run.stdout);
  return m[1];
}
