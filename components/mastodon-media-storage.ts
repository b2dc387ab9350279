// The whole media setup for one Mastodon instance: e2 bucket, Cloudflare edge, e2 custom domain, checks.
// The bucket side and the Cloudflare side are independent; the only chain is
// key → CSR → certificate → custom domain → media check → (opt-in) env push.
import * as pulumi from "@pulumi/pulumi";
import { settingsFromArgs, type Settings } from "./config";
import { e2ConsoleStep } from "./e2-console-step";
import { CloudflareMediaHost } from "./cloudflare-media-host";
import { E2Bucket } from "./e2-bucket";
import { edgeRules } from "./edge-rules";
import { E2CustomDomain } from "../providers/e2-custom-domain";
import { MASTODON_S3_PERMISSION, multipartThresholdBytes, renderMastodonEnv } from "./mastodon-env";
import { MastodonEnvPush } from "./mastodon-env-push";
import type { MastodonMediaStorageArgs } from "./mastodon-media-storage-args";
import { MediaCheck } from "./media-check";

export type { MastodonMediaStorageArgs };

/** Settings already validated by normalizeArgs (this repository's program passes them from its stack config). */
const isSettings = (args: MastodonMediaStorageArgs | Settings): args is Settings =>
  "mediaHost" in args && "cloudflare" in args;

/** Everything that puts one Mastodon instance's media on e2 behind Cloudflare. */
export class MastodonMediaStorage extends pulumi.ComponentResource {
  /** The host media URLs use, e.g. files.example.social. */
  readonly mediaHost: pulumi.Output<string>;
  /** `https://<mediaHost>`. */
  readonly mediaBaseUrl: pulumi.Output<string>;
  readonly bucketName: pulumi.Output<string>;
  /** e2 S3 endpoint host. */
  readonly e2Endpoint: pulumi.Output<string>;
  /** Mastodon's S3 settings for .env.production, one KEY=value per line. Secret. */
  readonly mastodonEnv: pulumi.Output<string>;
  readonly bucket: E2Bucket;
  readonly edge: CloudflareMediaHost;
  readonly customDomain: E2CustomDomain;
  /** Absent when config `verify` is false, or while `holdMediaDns` is true. */
  readonly mediaCheck?: MediaCheck;
  /** Absent unless config `pushMastodonEnv` is true. */
  readonly envPush?: MastodonEnvPush;
  /** What the e2 console's "Add CNAME" needs and whether e2 serves it yet. */
  readonly customDomainStatus: pulumi.Output<{
    cnameDomain: string;
    registered: boolean;
    expectedCertificateSha256: string;
  }>;
  /** The domain to register in the e2 console ("Add CNAME"): `*.<domain>`. */
  readonly cnameDomain: pulumi.Output<string>;
  /** The origin certificate (PEM) to paste in the e2 console. */
  readonly originCertificatePem: pulumi.Output<string>;
  /** Its private key (PEM) to paste in the e2 console. Secret. */
  readonly originPrivateKeyPem: pulumi.Output<string>;
  /** SHA-256 fingerprint (hex) of the origin certificate e2 must serve for the media host. */
  readonly originCertificateSha256: pulumi.Output<string>;
  /** Whether e2 served the origin certificate for the media host at the last check. */
  readonly customDomainRegistered: pulumi.Output<boolean>;
  /** The e2 console step in words: what to paste where, or that it is done. */
  readonly e2ConsoleInstructions: pulumi.Output<string>;

  /**
   * `args`: the arguments (MastodonMediaStorageArgs; invalid ones throw an InputPropertiesError naming each,
   * before anything is registered), or Settings already validated from the stack config.
   */
  constructor(
    name: string,
    input: MastodonMediaStorageArgs | Settings,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    const args = isSettings(input) ? input : settingsFromArgs(input);
    // The config parser refuses these already; checked here too, before anything is registered, so that no
    // other caller can push without the media check, a verified server or Mastodon's own key.
    const pushProblems = args.pushMastodonEnv
      ? [
          [!args.mastodonHost, "mastodonHost", "is required to push the env block"],
          [
            !args.verify.enabled,
            "verify.enabled",
            "must be true: the push runs only after the media check passed",
          ],
          [!args.mastodonHost?.hostKey, "mastodonHost.hostKey", "is required to push the env block"],
          [
            args.mastodonSharesProgramKey,
            "mastodonCredentials",
            "must be Mastodon's own key, not the program's",
          ],
          [
            args.cloudflare.holdMediaDns,
            "cloudflare.holdMediaDns",
            "must be false: while the media host's DNS is held it still serves the old storage",
          ],
        ].filter(([bad]) => bad)
      : [];
    if (pushProblems.length > 0) {
      throw new pulumi.InputPropertiesError({
        message: `MastodonMediaStorage ${name}: pushMastodonEnv cannot be honoured`,
        errors: pushProblems.map(([, propertyPath, reason]) => ({
          propertyPath: propertyPath as string,
          reason: reason as string,
        })),
      });
    }

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

    this.edge = new CloudflareMediaHost(
      `${name}-edge`,
      {
        domain: args.domain,
        mediaHost: args.mediaHost,
        stack: pulumi.getStack(),
        zoneId: args.cloudflare.zoneId,
        originHost: args.e2Endpoint,
        dnsRecord: args.cloudflare.dnsRecord,
        originCertificate: args.cloudflare.originCertificate,
        authenticatedOriginPulls: args.cloudflare.authenticatedOriginPulls,
        edgeRules: args.cloudflare.edgeRules,
        legacyMediaRedirect: args.cloudflare.legacyMediaRedirect
          ? { instanceHost: args.instanceHost }
          : undefined,
        holdDnsRecord: args.cloudflare.holdMediaDns,
        adopt: { dnsRecordId: args.adopt.dnsRecordId },
      },
      { parent: this },
    );
    const held = args.cloudflare.holdMediaDns;
    if (held) {
      pulumi.log.warn(
        `holdMediaDns is true: no DNS record is managed for ${args.mediaHost}, which keeps pointing at the old ` +
          "storage, and the media check and the push wait until you set it false. If this stack created the " +
          "record earlier, this update deletes it: check the preview (README: Holding the media host's DNS).",
        this,
      );
    }

    // e2 serves the media host only once the console's CNAME step has the certificate: checked, not assumed.
    this.customDomain = new E2CustomDomain(
      `${name}-custom-domain`,
      {
        endpoint: args.e2Endpoint,
        hostname: args.mediaHost,
        cnameDomain: this.edge.cnameDomain,
        certificatePem: this.edge.originCertificatePem,
        privateKeyPem: this.edge.originPrivateKeyPem,
        waitSeconds: args.cnameWaitSeconds,
      },
      {
        parent: this,
        dependsOn: [...(this.edge.dnsRecord ? [this.edge.dnsRecord] : []), this.edge.originCertificate],
      },
    );

    // Held, the media host still reaches the old storage: the edge half of the check would test the wrong place.
    if (args.verify.enabled && !held) {
      this.mediaCheck = new MediaCheck(
        `${name}-media-check`,
        {
          mediaHost: args.mediaHost,
          e2Endpoint: args.e2Endpoint,
          bucketName: this.bucket.bucketName,
          region: args.e2Region,
          accessKeyId: args.e2Credentials.accessKeyId,
          secretAccessKey: args.e2Credentials.secretAccessKey,
          // Mastodon's own key is proven too before anything hands it to Mastodon.
          ...(args.mastodonSharesProgramKey
            ? {}
            : {
                mastodonAccessKeyId: args.mastodonCredentials.accessKeyId,
                mastodonSecretAccessKey: args.mastodonCredentials.secretAccessKey,
              }),
          timeoutSeconds: args.verify.timeoutSeconds,
          // What the env block makes Mastodon's uploads look like, so the check's look the same.
          mastodonS3Permission: MASTODON_S3_PERMISSION,
          multipartThresholdBytes: pulumi.output(args.mastodonEnvExtra).apply(multipartThresholdBytes),
          // What changes the media host's behaviour without changing the check's own inputs.
          triggers: [
            this.customDomain.expectedCertificateSha256,
            this.bucket.policyJson,
            // The rules themselves: an edited rule keeps its ref and resource ID.
            JSON.stringify(edgeRules(pulumi.getStack(), args.mediaHost, args.cloudflare.edgeRules)),
          ],
        },
        {
          parent: this,
          dependsOn: [
            this.customDomain,
            this.bucket.policy,
            ...(this.edge.dnsRecord ? [this.edge.dnsRecord] : []),
            ...Object.values(this.edge.rules),
          ],
        },
      );
    }

    this.mediaHost = pulumi.output(args.mediaHost);
    this.mediaBaseUrl = pulumi.output(`https://${args.mediaHost}`);
    this.bucketName = this.bucket.bucketName;
    this.e2Endpoint = pulumi.output(args.e2Endpoint);
    const { accessKeyId, secretAccessKey } = args.mastodonCredentials;
    this.mastodonEnv = pulumi.secret(
      pulumi
        .all([this.bucketName, accessKeyId, secretAccessKey, args.mastodonEnvExtra])
        .apply(([bucket, keyId, secretKey, extra]) =>
          renderMastodonEnv({
            bucket,
            region: args.e2Region,
            endpointHost: args.e2Endpoint,
            mediaHost: args.mediaHost,
            accessKeyId: keyId,
            secretAccessKey: secretKey,
            extra,
          }),
        ),
    );

    if (args.pushMastodonEnv) {
      const { hostKey, ...host } = args.mastodonHost!;
      this.envPush = new MastodonEnvPush(
        `${name}-env-push`,
        {
          ...host,
          hostKey: hostKey!,
          envBlock: this.mastodonEnv,
          // Only switch Mastodon over once the media host (and key) are proven to serve files.
          mediaCheck: this.mediaCheck!,
          mediaHost: args.mediaHost,
          bucket: args.bucket,
          e2Endpoint: args.e2Endpoint,
          localMediaDir: host.localMediaDir ?? false,
        },
        { parent: this },
      );
    } else if (args.mastodonHost) {
      pulumi.log.warn(
        "mastodonHost is set but pushMastodonEnv is not true, so nothing is pushed: paste the mastodonEnv output " +
          "yourself, or set pushMastodonEnv true (README: Pushing the env block to the Mastodon server).",
        this,
      );
    }

    this.customDomainStatus = pulumi
      .all([
        this.customDomain.cnameDomain,
        this.customDomain.registered,
        this.customDomain.expectedCertificateSha256,
      ])
      .apply(([cnameDomain, registered, expectedCertificateSha256]) => ({
        cnameDomain,
        registered,
        expectedCertificateSha256,
      }));
    this.cnameDomain = this.customDomain.cnameDomain;
    this.originCertificatePem = this.edge.originCertificatePem;
    this.originPrivateKeyPem = this.edge.originPrivateKeyPem;
    this.originCertificateSha256 = this.customDomain.expectedCertificateSha256;
    this.customDomainRegistered = this.customDomain.registered;
    this.e2ConsoleInstructions = pulumi
      .all([this.cnameDomain, this.originCertificateSha256, this.customDomainRegistered])
      .apply(([cnameDomain, certificateSha256, registered]) =>
        e2ConsoleStep({ endpoint: args.e2Endpoint, cnameDomain, certificateSha256, registered }),
      );

    this.registerOutputs({
      customDomain: this.customDomainStatus,
      mediaHost: this.mediaHost,
      mediaBaseUrl: this.mediaBaseUrl,
      bucketName: this.bucketName,
      e2Endpoint: this.e2Endpoint,
      mastodonEnv: this.mastodonEnv,
      e2ConsoleInstructions: this.e2ConsoleInstructions,
    });
  }
}
