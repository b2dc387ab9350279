// The end-to-end media check as a resource: one local Command that runs runtime/media-check.ts after the
// media host is in place (the caller orders it with dependsOn: bucket policy, DNS record, custom domain).
import * as pulumi from "@pulumi/pulumi";
import { Command } from "@pulumi/command/local/command";
import { Logging } from "@pulumi/command/types/enums/local";
// The script enforces the same limits; one definition for both.
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from "./media-check-limits";
import { DEFAULT_MULTIPART_THRESHOLD_BYTES, MASTODON_S3_PERMISSION, MIN_PART_BYTES } from "./mastodon-env";

/**
 * What the Command runs. Inputs go through the environment, never argv. The path is relative on purpose: the
 * Command gets no `dir`, so the command provider runs it in its own working directory (pulumi-command,
 * provider/pkg/provider/local/commandOutputs.go: `cmd.Dir = os.Getwd()` when `dir` is unset; a relative
 * `dir` is used as is, so Go's os/exec resolves it against that same directory), and the Pulumi
 * engine starts provider plugins in the project's directory, the one holding Pulumi.yaml (pulumi/pulumi,
 * `newPlugin(ctx, ctx.Pwd, …)` with `ctx.Pwd` from `ProjectInfoContext` → `GetPwdMain()`: the project root
 * while Pulumi.yaml sets no `main`). So nothing in state names the checkout's path: a deploy from another
 * clone or a CI runner sees the same inputs and runs nothing on a no-op `pulumi up`. Read from those
 * sources, not run here (no Pulumi CLI or provider plugin offline): on docs/live-run-checklist.md.
 */
export const MEDIA_CHECK_COMMAND = __filename.endsWith(".js")
  ? // Compiled: this is the mastodon-media package in another program's node_modules. Its working directory is
    // that program's, so the shipped JavaScript is found by package name from there (package.json `exports`).
    `node -e "require('mastodon-media/media-check')"`
  : "node --import tsx runtime/media-check.ts";

/**
 * What the multipart Command runs (same working directory as {@link MEDIA_CHECK_COMMAND}): Mastodon's multipart
 * upload with the key Mastodon gets, a byte above the threshold, then a DeleteObjects batch.
 */
export const MULTIPART_CHECK_COMMAND = "node --import tsx runtime/multipart-check.ts";

/**
 * Per-call bound of the multipart probe, in seconds: a fixed value (not `timeoutSeconds`, whose change must
 * not re-upload the probe) long enough for one 5 MiB part on a slow uplink (5 MiB in 120 s is 350 kbit/s).
 */
export const MULTIPART_REQUEST_TIMEOUT_SECONDS = 120;

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
   * Mastodon's own access key ID (config `mastodonAccessKeyId`): the check makes Mastodon's calls with it
   * (PutObject with Mastodon's headers, signed read, served, DeleteObjects; the multipart probe), so a key
   * Mastodon cannot use fails here and not after a restart. Sent as a secret; a new value re-runs the check
   * and the multipart probe. Give both halves or neither. Default: none (Mastodon shares the program's key,
   * and Mastodon's calls are made with that one).
   */
  mastodonAccessKeyId?: pulumi.Input<string>;
  /** Its secret key (config `mastodonSecretAccessKey`). Sent as a secret. Default: none. */
  mastodonSecretAccessKey?: pulumi.Input<string>;
  /**
   * S3_PERMISSION as the env block gives it to Mastodon: the probes Mastodon's key writes carry `x-amz-acl`
   * with this canned ACL, or none when empty (as Mastodon: config/initializers/paperclip.rb). Default: what
   * the env block sets (empty).
   */
  mastodonS3Permission?: pulumi.Input<string>;
  /**
   * S3_MULTIPART_THRESHOLD as the env block gives it to Mastodon, in bytes (at least 5 MiB). The multipart
   * probe uploads one byte more. Default: Mastodon's own, 15 MiB (15728640). An Output (from env variables given
   * as an Output) is checked when it resolves.
   */
  multipartThresholdBytes?: pulumi.Input<number>;
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
 * refuses anonymous listing, PUT and DELETE too; and that the key Mastodon gets
 * makes Mastodon's calls there: PutObject with Mastodon's headers, a signed read, the object served, a
 * DeleteObjects batch (then the object is gone); and, in a second Command, a multipart upload a byte above
 * S3_MULTIPART_THRESHOLD. Fails the
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
  /**
   * The Command making Mastodon's multipart upload and a DeleteObjects batch with the key Mastodon gets. It runs
   * after the check, and again only when one of its inputs changes: that key, the endpoint, the bucket, the
   * region, the threshold or S3_PERMISSION (nothing else is in its environment). Each run uploads threshold + 1
   * bytes (15 MiB + 1 byte by default) and deletes them. Depend on the component to wait for both.
   */
  public readonly multipartCommand: Command;
  /** The multipart probe's report: `ok`/`FAIL` lines like {@link report}. Holds no secret. */
  public readonly multipartReport: pulumi.Output<string>;
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
    const thresholdProblem = (threshold: number) =>
      Number.isInteger(threshold) && threshold >= MIN_PART_BYTES
        ? undefined
        : new pulumi.InputPropertyError({
            propertyPath: "multipartThresholdBytes",
            reason: `must be a whole number of bytes, at least ${MIN_PART_BYTES} (5 MiB), got ${threshold}`,
          });
    const givenThreshold = args.multipartThresholdBytes ?? DEFAULT_MULTIPART_THRESHOLD_BYTES;
    const plainProblem = typeof givenThreshold === "number" ? thresholdProblem(givenThreshold) : undefined;
    if (plainProblem) throw plainProblem;
    const threshold = pulumi.output(givenThreshold).apply((t) => {
      const problem = thresholdProblem(t);
      if (problem) throw problem;
      return String(t);
    });
    super("mastodon-media:verify:MediaCheck", name, {}, opts);
    const permission = args.mastodonS3Permission ?? MASTODON_S3_PERMISSION;

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
          MASTODON_S3_PERMISSION: permission,
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

    // The key Mastodon gets: its own, or the program's when it shares it. Under the variable names Mastodon reads.
    const ownKey = args.mastodonAccessKeyId !== undefined && args.mastodonSecretAccessKey !== undefined;
    this.multipartCommand = new Command(
      `${name}-multipart`,
      {
        create: MULTIPART_CHECK_COMMAND,
        // Only what the upload depends on: any other input would re-upload threshold-sized probes for nothing.
        environment: {
          E2_ENDPOINT: args.e2Endpoint,
          S3_BUCKET: args.bucketName,
          S3_REGION: args.region,
          AWS_ACCESS_KEY_ID: pulumi.secret(ownKey ? args.mastodonAccessKeyId! : args.accessKeyId),
          AWS_SECRET_ACCESS_KEY: pulumi.secret(ownKey ? args.mastodonSecretAccessKey! : args.secretAccessKey),
          MEDIA_CHECK_KEY_SETTING: ownKey ? "mastodonAccessKeyId" : "e2AccessKeyId",
          S3_MULTIPART_THRESHOLD: threshold,
          MASTODON_S3_PERMISSION: permission,
          MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS: String(MULTIPART_REQUEST_TIMEOUT_SECONDS),
        },
        logging: Logging.StdoutAndStderr,
        addPreviousOutputInEnv: false,
      },
      // After the check: a key that cannot write or delete fails there first, before any large upload.
      { parent: this, dependsOn: [this.command] },
    );
    this.multipartReport = this.multipartCommand.stdout;

    this.registerOutputs({ report: this.report, multipartReport: this.multipartReport });
  }
}
