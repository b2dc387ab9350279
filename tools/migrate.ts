// `npm run migrate -- <plan|copy|verify> --from <host|/dir|s3://bucket[/prefix]> [--stack <name>]`: moves an
// instance's existing media into the stack's e2 bucket with rclone, the tool admins already use for it, and
// proves it complete. README "Moving existing media to e2" gives the order: plan → copy → verify → switch →
// copy → verify.
//
// Exit codes: 0 the step succeeded (verify: nothing missing); 1 it failed, or verify found the bucket
// incomplete; 2 usage error. Nothing printed names a media object: counts and prefixes only (followers-only and
// direct attachments are protected by their random names alone); `verify --list <file>` writes keys to that file.
//
// The pieces: tools/migrate/args.ts (command line), stack.ts (the stack through the Pulumi CLI), sides.ts (source
// and bucket as rclone remotes), rclone-flags.ts and rclone-env.ts (how rclone is asked), runner.ts (here or on
// the host over SSH), listing.ts, rclone-log.ts, report.ts and steps.ts (the steps themselves).
import { parseMigrateArgs, type MigrateArgs } from "./migrate/args";
import { MigrateError } from "./migrate/errors";
import { PulumiCliError } from "./pulumi-cli";
import { hostRunner, localRunner, type Runner } from "./migrate/runner";
import { bucketSide, sourceSide } from "./migrate/sides";
import { legacyRedirectWay, nginxLegacyMediaRedirect } from "../components/legacy-media-redirect";
import { readStackTarget, runPulumi, type StackTarget } from "./migrate/stack";
import { copy, plan, verify, type StepContext } from "./migrate/steps";
import { UsageError } from "./stack-args";

export interface MigrateIo {
  env: NodeJS.ProcessEnv;
  out: (text: string) => void;
  err: (text: string) => void;
  pulumi: typeof runPulumi;
}

/** The Cloudflare rule when the stack owns it; else the nginx snippet, with the rule as the alternative. */
export function oldUrlsAdvice(o: StackTarget["oldUrls"]): string {
  const way = o.byCloudflareRule
    ? legacyRedirectWay({ zone: o.zone, instanceHost: o.instanceHost, proxied: true })
    : legacyRedirectWay({ zone: o.zone, instanceHost: o.instanceHost, proxied: undefined });
  if (way.by === "cloudflare")
    return `old URLs: https://${o.instanceHost}/system/<key> is redirected to https://${o.mediaHost}/<key> by the stack's Cloudflare rule (legacyMediaRedirect).\n`;
  return (
    `old URLs: after the switch, https://${o.instanceHost}/system/<key> must redirect to https://${o.mediaHost}/<key> ` +
    `(legacyMediaRedirect is off: ${way.why}). For nginx:\n\n${nginxLegacyMediaRedirect(o.instanceHost, o.mediaHost)}`
  );
}

async function run(args: MigrateArgs, io: MigrateIo): Promise<number> {
  const target = readStackTarget(args.stack, io.pulumi);
  if (target.keyKind === "program")
    io.err(
      "notice: the stack has no mastodonAccessKeyId/mastodonSecretAccessKey; writing with the program's key (e2AccessKeyId)\n",
    );
  if (args.source.kind === "host" && !target.host) throw new MigrateError(`host: ${target.hostProblem}`);
  const source = sourceSide(args.source, target, io.env);
  const bucket = bucketSide(target);
  const runner: Runner = args.source.kind === "host" ? await hostRunner(target.host!) : localRunner(io.env);
  try {
    const ctx: StepContext = {
      runner,
      source,
      bucket,
      out: io.out,
      err: io.err,
      roots: source.directory ? [source.directory] : [],
      // Leaving local storage: old https://<instance>/system/<key> URLs must redirect (mastodon/documentation#1627).
      ...(args.source.kind === "s3" ? {} : { oldUrlsAdvice: oldUrlsAdvice(target.oldUrls) }),
    };
    switch (args.step) {
      case "plan":
        return await plan(ctx);
      case "copy":
        return await copy(ctx);
      case "verify":
        return await verify(ctx, args.list);
    }
  } finally {
    await runner.close();
  }
}

export async function main(argv: string[], io: Partial<MigrateIo> = {}): Promise<number> {
  const full: MigrateIo = {
    env: io.env ?? process.env,
    out: io.out ?? ((t) => process.stdout.write(t)),
    err: io.err ?? ((t) => process.stderr.write(t)),
    pulumi: io.pulumi ?? runPulumi,
  };
  try {
    return await run(parseMigrateArgs(argv), full);
  } catch (e) {
    if (e instanceof UsageError) {
      full.err(`migrate: ${e.message}\n`);
      return 2;
    }
    if (e instanceof MigrateError || e instanceof PulumiCliError) {
      full.err(`migrate: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
