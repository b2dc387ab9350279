// The whole media setup for one Mastodon instance: e2 bucket, Cloudflare edge, e2 custom domain, checks.
import * as pulumi from "@pulumi/pulumi";
import type { Settings } from "./config";
import { E2Bucket } from "./e2-bucket";
import { renderMastodonEnv } from "./mastodon-env";

/** Validated settings of one instance (see components/config.ts); the stack config is their only source. */
export type MastodonMediaStorageArgs = Settings;

/** Everything that puts one Mastodon instance's media on e2 behind Cloudflare. */
export class MastodonMediaStorage extends pulumi.ComponentResource {
  /** The host media URLs use, e.g. files.example.social. */
  readonly mediaHost: string;
  /** `https://<mediaHost>`. */
  readonly mediaBaseUrl: string;
  readonly bucketName: pulumi.Output<string>;
  /** e2 S3 endpoint host. */
  readonly e2Endpoint: string;
  /** Mastodon's S3 settings for .env.production, one KEY=value per line. Secret. */
  readonly mastodonEnv: pulumi.Output<string>;
  readonly bucket: E2Bucket;

  constructor(name: string, args: MastodonMediaStorageArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mastodon-media:index:MastodonMediaStorage", name, {}, opts);

    if (args.mastodonSharesProgramKey) {
      pulumi.log.warn(
        "Mastodon gets the program's own e2 key. Create a key limited to this bucket in the e2 console and set " +
          "mastodonAccessKeyId / mastodonSecretAccessKey (pulumi config set --secret ...).",
        this,
      );
    }

    this.bucket = new E2Bucket(
      `${name}-storage`,
      {
        bucketName: args.bucket,
        endpoint: args.e2Endpoint,
        region: args.e2Region,
        accessKeyId: args.e2Credentials.accessKeyId,
        secretAccessKey: args.e2Credentials.secretAccessKey,
        adopt: args.adopt.bucket,
      },
      { parent: this },
    );

    this.mediaHost = args.mediaHost;
    this.mediaBaseUrl = `https://${args.mediaHost}`;
    this.bucketName = this.bucket.bucketName;
    this.e2Endpoint = args.e2Endpoint;
    const { accessKeyId, secretAccessKey } = args.mastodonCredentials;
    this.mastodonEnv = pulumi.secret(
      pulumi.all([this.bucketName, accessKeyId, secretAccessKey]).apply(([bucket, keyId, secretKey]) =>
        renderMastodonEnv({
          bucket,
          region: args.e2Region,
          endpointHost: args.e2Endpoint,
          mediaHost: args.mediaHost,
          accessKeyId: keyId,
          secretAccessKey: secretKey,
          extra: args.mastodonEnvExtra,
        }),
      ),
    );

    this.registerOutputs({
      mediaHost: this.mediaHost,
      mediaBaseUrl: this.mediaBaseUrl,
      bucketName: this.bucketName,
      e2Endpoint: this.e2Endpoint,
      mastodonEnv: this.mastodonEnv,
    });
  }
}
