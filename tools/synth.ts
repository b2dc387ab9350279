// `npm run synth [-- --stack <name>]`: the real program under Pulumi's mocks, with a stack's config file and
// no cloud, credentials or Pulumi CLI. Prints the resource tree, the bucket policy, the Cloudflare rules and
// the Mastodon env block with secrets masked. Encrypted config values become placeholders, and so do the
// values only a real run learns (looked-up zone ID, certificate, expiry): those outputs are marked.
// Stack files are read from the current folder, like the Pulumi CLI does (`npm run` starts in the project's).
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import {
  OFFLINE_INVOKES,
  ProgramFailed,
  isMadeUpByMocks,
  maskSecrets,
  runProgramUnderMocks,
  type MockRunResult,
  type Registration,
} from "../tests/support/mock-run";
import { parseStackArgs } from "./stack-args";
import { EXAMPLE_STACK, readStackConfig } from "./stack-file";
import { CLOUDFLARE_RULE_TYPE } from "../providers/cloudflare-rule";

export const SYNTH_USAGE = "npm run synth [-- --stack <name>]";
const MASK = "[secret]";
const PLACEHOLDER = "[placeholder]";
/** Env block variables whose values are credentials. */
const SECRET_ENV = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"];

function shortValue(value: unknown): string {
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const oneLine = text.replace(/\s+/g, " ");
  return oneLine.length > 90 ? `${oneLine.slice(0, 87)}...` : oneLine;
}

/** Inputs worth a glance in the tree; secrets masked, documents shown in their own sections. */
function keyInputs(r: Registration): string {
  const skip = new Set(["policy", "rules", "__provider"]);
  const masked = maskSecrets(r.wireInputs, MASK) as Record<string, unknown>;
  const parts = Object.entries(masked)
    .filter(([k, v]) => !skip.has(k) && v !== undefined && v !== "")
    .map(([k, v]) => `${k}=${shortValue(v)}`);
  const flags = [
    r.options.protect && "protected",
    r.options.importId && `import ${r.options.importId}`,
  ].filter(Boolean);
  return [...parts, ...flags.map((f) => `[${f}]`)].join("  ");
}

export function renderTree(registrations: Registration[]): string[] {
  const children = new Map<string, Registration[]>();
  for (const r of registrations) children.set(r.parentUrn, [...(children.get(r.parentUrn) ?? []), r]);
  const lines: string[] = [];
  const walk = (parent: string, depth: number) => {
    for (const r of children.get(parent) ?? []) {
      const inputs = keyInputs(r);
      lines.push(
        `${"  ".repeat(depth)}${r.type}  ${r.name}${inputs ? `\n${"  ".repeat(depth + 2)}${inputs}` : ""}`,
      );
      walk(r.urn, depth + 1);
    }
  };
  walk("", 0);
  return lines;
}

/** Masks the credentials and `secretNames` (variables set from encrypted mastodonEnvExtra leaves). */
export function maskEnvBlock(block: string, secretNames: readonly string[] = []): string {
  const secret = new Set([...SECRET_ENV, ...secretNames]);
  return block
    .split("\n")
    .map((line) => {
      const name = line.split("=", 1)[0];
      return secret.has(name) ? `${name}=${MASK}` : line;
    })
    .join("\n");
}

function renderRules(registrations: Registration[]): string[] {
  const rules = registrations.filter((r) => r.type === CLOUDFLARE_RULE_TYPE);
  if (rules.length === 0) return ["(no rules)"];
  return rules.map(
    (r) =>
      `${r.inputs.phase}  (${r.name}, ref ${r.inputs.ref})\n  ${r.inputs.action}  when ${r.inputs.expression}\n    ` +
      JSON.stringify(r.inputs.actionParameters ?? {}),
  );
}

/** One stack output: masked if secret, marked if the mocks made it up. */
function outputLine(key: string, value: unknown, secret: boolean): string {
  if (secret) return `  ${key}: ${MASK}`;
  return `  ${key}: ${shortValue(value)}${isMadeUpByMocks(value) ? `  ${PLACEHOLDER}` : ""}`;
}

export function renderSynth(
  stack: string,
  result: MockRunResult,
  secretEnvNames: readonly string[] = [],
): string {
  const policy = result.registrations.find((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy");
  const env =
    typeof result.outputs.mastodonEnv === "string"
      ? maskEnvBlock(result.outputs.mastodonEnv, secretEnvNames)
      : "(no mastodonEnv output)";
  const outputs = Object.entries(result.outputs)
    .filter(([k]) => k !== "mastodonEnv")
    .map(([k, v]) => outputLine(k, v, result.secretOutputs.includes(k)));
  return [
    `# mastodon-media, stack "${stack}", under mocks (nothing was created; provider outputs are placeholders)`,
    "",
    `## Resources (${result.registrations.length})`,
    ...renderTree(result.registrations),
    "",
    "## Bucket policy",
    policy ? JSON.stringify(JSON.parse(policy.inputs.policy as string), null, 2) : "(none)",
    "",
    "## Cloudflare rules",
    ...renderRules(result.registrations),
    "",
    `## Stack outputs (${PLACEHOLDER}: made up offline; a real \`pulumi up\` reports Cloudflare's and e2's values)`,
    ...outputs,
    "",
    "## Mastodon env block (secrets masked; `pulumi stack output mastodonEnv --show-secrets` after a deploy)",
    env.trimEnd(),
    "",
    ...(result.warnings.length > 0
      ? ["## Warnings (`pulumi up` prints these too)", ...result.warnings.map((w) => `  - ${w}`), ""]
      : []),
  ].join("\n");
}

/** Where synth reads and writes: the program, the folder with the stack files, and the output streams. */
export interface SynthIo {
  programDir: string;
  stackDir: string;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Runs `npm run synth` with `argv` (after the script name); returns the exit code. */
export async function synth(argv: string[], io: SynthIo): Promise<number> {
  let stack: string;
  let stackConfig: ReturnType<typeof readStackConfig>;
  try {
    stack = parseStackArgs(argv, SYNTH_USAGE).stack ?? EXAMPLE_STACK;
    stackConfig = readStackConfig(io.stackDir, stack);
  } catch (err) {
    io.stderr(`synth: ${(err as Error).message}\n`);
    return 1;
  }
  const { config, secretKeys, secretLeaves, project } = stackConfig;
  const extraPrefix = `${project}:mastodonEnvExtra.`;
  const secretEnvNames = secretLeaves
    .filter((l) => l.startsWith(extraPrefix))
    .map((l) => l.slice(extraPrefix.length));
  try {
    const result = await runProgramUnderMocks({
      programDir: io.programDir,
      project,
      stack,
      config,
      secretKeys,
      typescript: false,
      invokes: OFFLINE_INVOKES,
    });
    io.stdout(renderSynth(stack, result, secretEnvNames));
    return 0;
  } catch (err) {
    if (!(err instanceof ProgramFailed)) throw err;
    // A config error (a RunError) is for the operator: its message only, as `pulumi up` shows it.
    const failure = err.failure;
    const text = pulumi.RunError.isInstance(failure)
      ? failure.message
      : failure instanceof Error
        ? (failure.stack ?? failure.message)
        : String(failure);
    io.stderr(`synth: stack "${stack}": ${text}\n`);
    return 1;
  }
}

if (require.main === module) {
  // A failing program leaves rejected promises behind (its pending outputs) once Pulumi's handlers are
  // gone; the failure itself is reported from synth's result. On success any such rejection is a bug.
  const stray: unknown[] = [];
  process.on("unhandledRejection", (reason) => stray.push(reason));
  synth(process.argv.slice(2), {
    programDir: path.join(__dirname, ".."),
    stackDir: process.cwd(),
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  }).then(
    (code) => {
      if (code === 0 && stray.length > 0) {
        process.stderr.write(`synth: unhandled rejection: ${String(stray[0])}\n`);
        code = 1;
      }
      process.exitCode = code;
    },
    (err: Error) => {
      process.stderr.write(`synth failed: ${err.stack ?? err.message}\n`);
      process.exitCode = 1;
    },
  );
}
