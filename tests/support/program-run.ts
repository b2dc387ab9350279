// Runs the real index.ts under mocks (in this process, loaded by the test loader) with a stack config.
import * as path from "node:path";
import { OFFLINE_INVOKES, runProgramUnderMocks, type InvokeAnswers, type MockRunResult } from "./mock-run";
import type { RawConfig } from "../../components/config";
import { fullKeys } from "./stack-config";

export const PROJECT_DIR = path.join(__dirname, "..", "..");

/** `invokes` adds to or replaces the offline answers (e.g. a zone that already has rulesets). */
export function runProgram(
  raw: RawConfig,
  stack = "test",
  invokes: InvokeAnswers = {},
): Promise<MockRunResult> {
  return runProgramUnderMocks({
    programDir: PROJECT_DIR,
    project: raw.namespace,
    stack,
    ...fullKeys(raw),
    typescript: false,
    invokes: { ...OFFLINE_INVOKES, ...invokes },
  });
}
