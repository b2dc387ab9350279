// The migrate command line: `<plan|copy|verify> --from <source> [--stack <name>] [--source-endpoint <host>]
// [--source-region <region>] [--list <file>]`. Anything else is a usage error (exit 2), so that a typo never
// copies from, or reports on, something the operator did not mean.
import * as path from "node:path";
import { parseStackArgs, UsageError } from "../stack-args";

export const MIGRATE_COMMAND = "npm run migrate --";
export const USAGE = [
  `usage: ${MIGRATE_COMMAND} <plan|copy|verify> --from <source> [--stack <name>] [--list <file>]`,
  "  --from host                   the Mastodon server's public/system (mastodonHost), over SSH",
  "  --from /abs/dir               a directory on this machine",
  "  --from s3://bucket[/prefix]   another provider's bucket; needs --source-endpoint <host>",
  "                                [--source-region <region>] and SOURCE_ACCESS_KEY_ID/SOURCE_SECRET_ACCESS_KEY",
  "  --list <file>                 verify only: write the keys that are missing or differ to <file>",
].join("\n");

export type Step = "plan" | "copy" | "verify";
export const STEPS: readonly Step[] = ["plan", "copy", "verify"];

/** Where the media is now. */
export type Source =
  | { kind: "host" }
  | { kind: "dir"; path: string }
  | { kind: "s3"; bucket: string; prefix: string; endpoint: string; region?: string };

export interface MigrateArgs {
  step: Step;
  source: Source;
  stack?: string;
  /** verify: file to write the keys of missing or different objects to. */
  list?: string;
}

/** S3 bucket names (the rules common to AWS, Wasabi, B2, Spaces, e2: 3-63 of a-z 0-9 . -). */
const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

function fail(problem: string): never {
  throw new UsageError(`${problem}\n${USAGE}`);
}

/** Parses `argv` (after the script name). Throws UsageError (exit 2) with the usage text. */
export function parseMigrateArgs(argv: string[]): MigrateArgs {
  const [step, ...rest] = argv;
  if (step === undefined) fail("no step given");
  if (!(STEPS as readonly string[]).includes(step)) fail(`unknown step ${JSON.stringify(step)}`);
  const options: Record<string, string> = {};
  const stackArgs: string[] = [];
  const valued = ["--from", "--source-endpoint", "--source-region", "--list"];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (name === "--stack" || name === "-s") {
      // --stack's own rules (tools/stack-args.ts), so every tool reads it the same way.
      stackArgs.push(arg);
      if (eq < 0) stackArgs.push(rest[++i] ?? "");
      continue;
    }
    if (!valued.includes(name)) fail(`unknown argument ${JSON.stringify(arg)}`);
    const value = eq > 0 && name !== arg ? arg.slice(eq + 1) : rest[++i];
    if (value === undefined || value === "" || (eq < 0 && value.startsWith("--")))
      fail(`${name} needs a value`);
    if (name in options) fail(`${name} given twice`);
    options[name] = value;
  }
  let stack: string | undefined;
  try {
    stack = parseStackArgs(
      stackArgs.filter((a) => a !== ""),
      "see below",
    ).stack;
  } catch {
    fail("--stack needs a stack name");
  }
  if (stackArgs.includes("")) fail("--stack needs a stack name");

  const from = options["--from"];
  if (from === undefined) fail("--from is required");
  const endpoint = options["--source-endpoint"];
  const region = options["--source-region"];
  let source: Source;
  if (from === "host") {
    source = { kind: "host" };
  } else if (from.startsWith("s3://")) {
    const [bucket = "", ...parts] = from.slice("s3://".length).split("/");
    if (!BUCKET.test(bucket))
      fail(`--from ${JSON.stringify(from)}: not a bucket name (s3://bucket[/prefix])`);
    if (endpoint === undefined)
      fail("--from s3://… needs --source-endpoint <host> (the provider's S3 endpoint)");
    const prefix = parts.filter((p) => p !== "").join("/");
    source = { kind: "s3", bucket, prefix, endpoint, ...(region === undefined ? {} : { region }) };
  } else if (path.isAbsolute(from)) {
    source = { kind: "dir", path: path.normalize(from) };
  } else {
    fail(`--from ${JSON.stringify(from)}: expected host, an absolute directory, or s3://bucket[/prefix]`);
  }
  if (source.kind !== "s3" && (endpoint !== undefined || region !== undefined))
    fail("--source-endpoint and --source-region only go with --from s3://…");
  const list = options["--list"];
  if (list !== undefined && step !== "verify") fail("--list only goes with verify");
  return {
    step: step as Step,
    source,
    ...(stack === undefined ? {} : { stack }),
    ...(list === undefined ? {} : { list: path.resolve(list) }),
  };
}
