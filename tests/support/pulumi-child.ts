// Runs the program in a fresh Node process exactly as `pulumi up` loads it (see tests/support/run-as-pulumi.cjs).
import { spawn } from "node:child_process";
import * as path from "node:path";
import type { MockRunOptions, MockRunResult } from "./mock-run";
import { HANG_LIMIT_MS } from "./hang-limit";

export interface ChildRun {
  ok: boolean;
  result?: MockRunResult;
  record?: MockRunResult;
  error?: { name: string; message: string };
  tsNodeRegistered?: boolean;
  programMs?: number;
  stderr: string;
  exitCode: number | null;
}

const ENTRY = path.join(__dirname, "run-as-pulumi.cjs");

export function runAsPulumi(
  options: Omit<MockRunOptions, "typescript" | "invokes">,
  env: NodeJS.ProcessEnv = {},
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    // The test runner's own loader must not leak into the child: drop NODE_OPTIONS and execArgv.
    const { NODE_OPTIONS: _dropped, ...parentEnv } = process.env;
    const child = spawn(process.execPath, [ENTRY], {
      env: { ...parentEnv, ...env, MOCK_RUN_OPTIONS: JSON.stringify(options) },
      stdio: ["ignore", "pipe", "pipe", "pipe"],
    });
    let stderr = "";
    let report = "";
    child.stderr!.on("data", (d) => (stderr += d));
    child.stdout!.on("data", (d) => (stderr += d));
    (child.stdio[3] as NodeJS.ReadableStream).on("data", (d) => (report += d));
    const timer = setTimeout(() => child.kill("SIGKILL"), HANG_LIMIT_MS);
    child.on("error", reject);
    child.on("close", (exitCode) => {
      clearTimeout(timer);
      if (!report.trim())
        return reject(new Error(`the child reported nothing (exit ${exitCode}):\n${stderr}`));
      resolve({ ...(JSON.parse(report) as Omit<ChildRun, "stderr" | "exitCode">), stderr, exitCode });
    });
  });
}
