// Finds an executable on PATH, as the shell would: tests use it to pick the shells and tools this machine has.
import * as fs from "node:fs";
import * as path from "node:path";

/** The first executable named `cmd` on PATH, or undefined. */
export function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const candidate = path.join(dir, cmd);
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
