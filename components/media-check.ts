// The end-to-end media check as a resource: one local Command that runs runtime/media-check.ts after the
// media host is in place (the caller orders it with dependsOn: bucket policy, DNS record, custom domain).
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { Command } from "@pulumi/command/local/command";
import { Logging } from "@pulumi/command/types/enums/local";
// The script enforces the same limits; one definition for both.
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from "./media-check-limits";

/** What the Command runs, from the project root. Inputs go through the environment, never argv. */
export const MEDIA_CHECK_COMMAND = "node --import tsx runtime/media-check.ts";

/** Default for {@link MediaCheckArgs.timeoutSeconds}, in seconds (config `verifyTimeoutSeconds`). */
export const DEFAULT_MEDIA_CHECK_TIMEOUT_SECONDS = DEFAULT_TIMEOUT_SECONDS;

/** The folder holding runtime/ and node_modules/: one up from components/. */
const PROJECT_ROOT = path.resolve(__dirname, "..");

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
   * Key of the probe object, which the check writes and deletes; must start with `_probe/` (the script
   * refuses anything else, so a mistake cannot overwrite media). Usually `_probe/<stack>.txt`.
   */
  probeKey: pulumi.Input<string>;
  /** e2 access key ID allowed to put and delete objects in the bucket. Sent as a secret. */
  accessKeyId: pulumi.Input<string>;
  /** Its secret key. Sent as a secret, only through the Command's environment. */
  secretAccessKey: pulumi.Input<string>;
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
  /**
   * Folder the command runs in: the project root, holding runtime/ and node_modules/. Default: the
   * folder above components/, resolved when the program runs. It is stored in state, so running from
   * a checkout at another path re-runs the check once (harmless: the check only reads and cleans up).
   */
  dir?: pulumi.Input<string>;
}

/**
 * Proves after a deploy that the media host works: a probe uploaded to e2 is served through Cloudflare
 * with CORS and valid TLS, and anonymous listing, PUT and DELETE are refused. Fails the deployment,
 * naming the first failed check, otherwise.
 *
 * When it runs: a Command runs its `create` when it is created and, having no `update`, again whenever
 * any input changes (environment, triggers, dir), i.e. when the host, endpoint, bucket, key, time-out or
 * a trigger changes. It does NOT run on a no-op `pulumi up`: with unchanged inputs the engine has nothing
 * to do for it. That is deliberate: the check takes up to `timeoutSeconds` and writes to the bucket, and
 * an unchanged stack has nothing new to prove. To re-check on demand: `pulumi up --replace <its URN>`.
 * `pulumi preview` never runs it.
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
    super("mastodon-media:verify:MediaCheck", name, {}, opts);

    this.command = new Command(
      `${name}-run`,
      {
        create: MEDIA_CHECK_COMMAND,
        dir: args.dir ?? PROJECT_ROOT,
        environment: {
          MEDIA_HOST: args.mediaHost,
          E2_ENDPOINT: args.e2Endpoint,
          S3_BUCKET: args.bucketName,
          S3_REGION: args.region,
          PROBE_KEY: args.probeKey,
          VERIFY_TIMEOUT_SECONDS: pulumi.output(timeout ?? DEFAULT_MEDIA_CHECK_TIMEOUT_SECONDS).apply(String),
          // Secret in state and in transit; the script never prints either (nor any signature).
          AWS_ACCESS_KEY_ID: pulumi.secret(args.accessKeyId),
          AWS_SECRET_ACCESS_KEY: pulumi.secret(args.secretAccessKey),
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
