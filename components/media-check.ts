// The end-to-end media check as a resource: one local Command that runs runtime/media-check.ts after the
// media host is in place (the caller orders it with dependsOn: bucket policy, DNS record, custom domain).
import * as pulumi from "@pulumi/pulumi";
import { Command } from "@pulumi/command/local/command";
import { Logging } from "@pulumi/command/types/enums/local";
// The script enforces the same limits; one definition for both.
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from "./media-check-limits";

/**
 * What the Command runs. Inputs go through the environment, never argv. The path is relative on purpose: the
 * Command gets no `dir`, so the command provider runs it in its own working directory (pulumi-command,
 * provider/pkg/provider/local/commandOutputs.go: `cmd.Dir = os.Getwd()` when `dir` is unset; a relative
 * `dir` is used as is, so Go's os/exec resolves it against that same directory), and the Pulumi
 * engine starts provider plugins in the project's directory, the one holding Pulumi.yaml (pulumi/pulumi,
 * `newPlugin(ctx, ctx.Pwd, …)` with `ctx.Pwd` from `ProjectInfoContext` → `GetPwdMain()`: the project root
 * while Pulumi.yaml sets no `main`). So nothing in state names the checkout's path: a deploy from another
 * clone or a CI runner sees the same inputs and runs nothing on a no-op `pulumi up`. Read from those
 * sources, not run here (no Pulumi CLI or provider plugin offline): on the README's first-live-run list.
 */
export const MEDIA_CHECK_COMMAND = __filename.endsWith(".js")
  ? // Compiled: this is the mastodon-media package in another program's node_modules. Its working directory is
    // that program's, so the shipped JavaScript is found by package name from there (package.json `exports`).
    `node -e "require('mastodon-media/media-check')"`
  : "node --import tsx runtime/media-check.ts";

/** Default for {@link MediaCheckArgs.timeoutSeconds}, in seconds (config `verifyTimeoutSeconds`). */
export const DEFAULT_MEDIA_CHECK_TIMEOUT_SECONDS = DEFAULT_TIMEOUT_SECONDS;

export interface MediaCheckArgs {
  /** Public media host readers use, e.g. `files.example.social` (Mastodon's S3_ALIAS_HOST). No scheme. */
  mediaHost: pulumi.Input<string>;
  /** e2 S3 endpoint host, optionally `host:port`, e.g. `s3.eu-central-2.idrivee2.com`. No scheme. */
  e2Endpoint: pulumi.Input<string>;
  /** Bucket the media host maps to; the probe is uploaded there (path-style). */
  bucketName: pulumi.Input<string>;
  /** e2 region code used as the SigV4 signing region, e.g. `eu-central-2`. */
  region: pulumi.Input<string>;
  /**
   * The program's e2 access key ID (config `e2AccessKeyId`), allowed to put and delete objects in the
   * bucket. Sent as a secret. The probe objects' keys are not an input: the check makes new ones under
   * `_probe/` and `backups/_mastodon-media-probe-` on every run.
   */
  accessKeyId: pulumi.Input<string>;
  /** Its secret key. Sent as a secret, only through the Command's environment. */
  secretAccessKey: pulumi.Input<string>;
  /**
   * Mastodon's own access key ID (config `mastodonAccessKeyId`): the check also writes, reads back, sees
   * served and deletes a probe with it, so a key Mastodon cannot use fails here and not after a restart.
   * Sent as a secret; a new value re-runs the check. Give both halves or neither. Default: none (Mastodon
   * shares the program's key, which the check proves anyway).
   */
  mastodonAccessKeyId?: pulumi.Input<string>;
  /** Its secret key (config `mastodonSecretAccessKey`). Sent as a secret. Default: none. */
  mastodonSecretAccessKey?: pulumi.Input<string>;
  /**
   * How long the check keeps retrying while DNS and the edge settle, in whole seconds (1-3600).
   * Default 300. Each request is also bounded (10 s), and the probe is deleted after the deadline.
   */
  timeoutSeconds?: pulumi.Input<number>;
  /**
   * Values whose change re-runs the check, in addition to the inputs above (which re-run it anyway:
   * they are part of the Command's environment). Pass what changes the media host's behaviour without
   * changing those: the origin certificate's fingerprint, the bucket policy document, edge rule IDs.
   * Default: none.
   */
  triggers?: pulumi.Input<unknown>[];
}

/**
 * Proves after a deploy that the media host works: at the e2 endpoint itself, anonymous listing, PUT and
 * DELETE are refused and a private probe under `backups/` cannot be read (the edge's block rule would hide a
 * public bucket); a probe uploaded to e2 is served through Cloudflare with CORS and valid TLS, and the edge
 * refuses anonymous listing, PUT and DELETE too; and, when Mastodon has its
 * own key, that this key can write, read and delete there and that what it writes is served. Fails the
 * deployment, naming the first failed check and (for a key) the setting and e2's error code, otherwise.
 *
 * When it runs: a Command runs its `create` when it is created and, having no `update`, again whenever
 * any input changes (environment, triggers), i.e. when the host, endpoint, bucket, either key, time-out or
 * a trigger changes. The keys are secret inputs: state holds them encrypted, and the command provider
 * diffs the values the engine hands it (pulumi-command has no Diff of its own; pulumi-go-provider's
 * infer/resource.go compares old and new inputs, secrets by value, and Update runs `create` when no
 * `update` is given), so a new Mastodon key re-runs the check without plaintext in state. It does NOT run on a no-op `pulumi up`: with unchanged inputs the engine has nothing to do for
 * it (the probe keys are made inside the check, and no input names the checkout's path). That is
 * deliberate: the check takes up to `timeoutSeconds` and writes to the bucket, and an unchanged stack has
 * nothing new to prove. To re-check on demand: `pulumi up --replace <its URN>`. `pulumi preview` never
 * runs it.
 */
export class MediaCheck extends pulumi.ComponentResource {
  /** The Command running the check; depend on it to order things after a successful check. */
  public readonly command: Command;
  /** The check's report: one `ok   <check>` / `FAIL <check>: <reason>` line per check. Holds no secret. */
  public readonly report: pulumi.Output<string>;

  constructor(name: string, args: MediaCheckArgs, opts?: pulumi.ComponentResourceOptions) {
    const timeout = args.timeoutSeconds;
    if (
      typeof timeout === "number" &&
      !(Number.isInteger(timeout) && timeout >= 1 && timeout <= MAX_TIMEOUT_SECONDS)
    ) {
      throw new pulumi.InputPropertyError({
        propertyPath: "timeoutSeconds",
        reason: `must be a whole number of seconds from 1 to ${MAX_TIMEOUT_SECONDS}, got ${timeout}`,
      });
    }
    if ((args.mastodonAccessKeyId === undefined) !== (args.mastodonSecretAccessKey === undefined)) {
      throw new pulumi.InputPropertyError({
        propertyPath:
          args.mastodonAccessKeyId === undefined ? "mastodonAccessKeyId" : "mastodonSecretAccessKey",
        reason: "is not set, but its other half is; give both halves of Mastodon's key, or neither",
      });
    }
    super("mastodon-media:verify:MediaCheck", name, {}, opts);

    this.command = new Command(
      `${name}-run`,
      {
        create: MEDIA_CHECK_COMMAND,
        // No `dir`: see MEDIA_CHECK_COMMAND.
        environment: {
          MEDIA_HOST: args.mediaHost,
          E2_ENDPOINT: args.e2Endpoint,
          S3_BUCKET: args.bucketName,
          S3_REGION: args.region,
          VERIFY_TIMEOUT_SECONDS: pulumi.output(timeout ?? DEFAULT_MEDIA_CHECK_TIMEOUT_SECONDS).apply(String),
          // Secret in state and in transit; the script never prints either (nor any signature).
          AWS_ACCESS_KEY_ID: pulumi.secret(args.accessKeyId),
          AWS_SECRET_ACCESS_KEY: pulumi.secret(args.secretAccessKey),
          ...(args.mastodonAccessKeyId !== undefined && args.mastodonSecretAccessKey !== undefined
            ? {
                MASTODON_ACCESS_KEY_ID: pulumi.secret(args.mastodonAccessKeyId),
                MASTODON_SECRET_ACCESS_KEY: pulumi.secret(args.mastodonSecretAccessKey),
              }
            : {}),
        },
        triggers: args.triggers ?? [],
        // Show the check lines live during `pulumi up`: the script guarantees they hold no secret.
        logging: Logging.StdoutAndStderr,
        // The check does not read its previous run's output; keep it out of the environment.
        addPreviousOutputInEnv: false,
      },
      // The caller's dependsOn (policy, DNS record, custom domain) repeated on the Command itself, so the
      // order is explicit in the graph instead of resting on children waiting for their parent.
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.report = this.command.stdout;

    this.registerOutputs({ report: this.report });
  }
}
