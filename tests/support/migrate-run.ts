// Running the migrate tool in tests: a stand-in `pulumi` executable (the CLI boundary; no Pulumi CLI runs
// here) that prints the stack config and outputs as `pulumi config --json --show-secrets` and `pulumi stack
// output --json --show-secrets` print them, and the tool's main() called with that stand-in and a chosen
// environment, its output captured.
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { PROJECT_NAME } from "../../components/config";
import { main } from "../../tools/migrate";

export interface StandInStack {
  /** Bare config key → value; keys in `secrets` are printed as secret. */
  config: Record<string, string>;
  secrets: string[];
  outputs: Record<string, unknown>;
}

/** Writes a stand-in `pulumi` into a new directory; returns its path and the directory. */
export function writePulumiStandIn(stack: StandInStack): { dir: string; pulumi: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-pulumi-"));
  // A deployed stack always names its bucket in config too (there is no default): the one its outputs name.
  const withBucket = { bucket: String(stack.outputs.bucketName ?? "media-example"), ...stack.config };
  const config = Object.fromEntries(
    Object.entries(withBucket).map(([k, v]) => [
      `${PROJECT_NAME}:${k}`,
      { value: v, secret: stack.secrets.includes(k) },
    ]),
  );
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, "outputs.json"), JSON.stringify(stack.outputs), { mode: 0o600 });
  const pulumi = path.join(dir, "pulumi");
  fs.writeFileSync(
    pulumi,
    [
      "#!/bin/sh",
      `printf '%s\\n' "$*" >> '${path.join(dir, "calls.txt")}'`,
      'case "$1 $2 $3" in',
      `  "config --json --show-secrets") cat '${path.join(dir, "config.json")}' ;;`,
      `  "stack output --json") cat '${path.join(dir, "outputs.json")}' ;;`,
      '  *) echo "stand-in pulumi: unexpected $*" >&2; exit 3 ;;',
      "esac",
      "",
    ].join("\n"),
    { mode: 0o755 },
  );
  return { dir, pulumi };
}

export interface MigrateResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the tool in this process with the stand-in CLI and `env` as its whole environment. */
export async function runMigrate(
  pulumi: string,
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<MigrateResult> {
  let stdout = "";
  let stderr = "";
  const code = await main(argv, {
    env,
    out: (t) => (stdout += t),
    err: (t) => (stderr += t),
    pulumi: (args, stack) =>
      execFileSync(pulumi, [...args, ...(stack ? ["--stack", stack] : [])], { encoding: "utf8" }),
  });
  return { code, stdout, stderr };
}
