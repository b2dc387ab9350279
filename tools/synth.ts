// `npm run synth [-- --stack <name>]`: the real program under Pulumi's mocks, with a stack's config file and
// no cloud, credentials or Pulumi CLI. Prints the resource tree, the bucket policy, the Cloudflare rules and
// the Mastodon env block with secrets masked. Encrypted config values become placeholders.
import * as path from "node:path";
import {
  OFFLINE_INVOKES,
  maskSecrets,
  runProgramUnderMocks,
  type MockRunResult,
  type Registration,
} from "../tests/support/mock-run";
import { readStackConfig } from "./stack-file";
import { CLOUDFLARE_RULE_TYPE } from "../providers/cloudflare-rule";

const MASK = "[secret]";
/** Env block variables whose values are credentials. */
const SECRET_ENV = new Set(["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);

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

export function maskEnvBlock(block: string): string {
  return block
    .split("\n")
    .map((line) => {
      const name = line.split("=", 1)[0];
      return SECRET_ENV.has(name) ? `${name}=${MASK}` : line;
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

export function renderSynth(stack: string, result: MockRunResult): string {
  const policy = result.registrations.find((r) => r.type === "aws:s3/bucketPolicy:BucketPolicy");
  const env =
    typeof result.outputs.mastodonEnv === "string"
      ? maskEnvBlock(result.outputs.mastodonEnv)
      : "(no mastodonEnv output)";
  const outputs = Object.entries(result.outputs)
    .filter(([k]) => k !== "mastodonEnv")
    .map(([k, v]) => `  ${k}: ${result.secretOutputs.includes(k) ? MASK : shortValue(v)}`);
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
    "## Stack outputs",
    ...outputs,
    "",
    "## Mastodon env block (secrets masked; `pulumi stack output mastodonEnv --show-secrets` after a deploy)",
    env.trimEnd(),
    "",
  ].join("\n");
}

function stackArg(argv: string[]): string {
  const i = argv.findIndex((a) => a === "--stack" || a === "-s");
  if (i >= 0 && argv[i + 1]) return argv[i + 1];
  const inline = argv.find((a) => a.startsWith("--stack="));
  return inline ? inline.slice("--stack=".length) : "dev";
}

async function main() {
  const projectDir = path.join(__dirname, "..");
  const stack = stackArg(process.argv.slice(2));
  const { config, secretKeys, project } = readStackConfig(projectDir, stack);
  const result = await runProgramUnderMocks({
    programDir: projectDir,
    project,
    stack,
    config,
    secretKeys,
    typescript: false,
    invokes: OFFLINE_INVOKES,
  });
  process.stdout.write(renderSynth(stack, result));
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`synth failed: ${err.message}\n`);
    process.exitCode = 1;
  });
}
