// Which stack config keys exist, which are secret or objects, and their defaults.
import { EDGE_RULE_GROUPS } from "../edge-rules";
import { MAX_WAIT_SECONDS } from "../../providers/e2-custom-domain";
import { DEFAULT_ENV_FILE, DEFAULT_RESTART } from "../mastodon-env-push";
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from "../media-check-limits";
import type { MastodonMediaStorageArgs } from "../mastodon-media-storage-args";
import type { DnsRecordMode, OriginKeyType } from "./settings";

export { MAX_WAIT_SECONDS, MAX_TIMEOUT_SECONDS };

/**
 * The project name in this repository's Pulumi.yaml. Config is not read under this name but under the running
 * project's (`pulumi.getProject()`): `pulumi new` renames the project to what the user typed and stores the
 * answers as `<that name>:<key>` (pulumi/pulumi pkg/cmd/pulumi/project/newcmd/config.go, resolveTemplateConfig).
 * Only tests and offline tools without a Pulumi.yaml to ask fall back to it.
 */
export const PROJECT_NAME = "mastodon-media";

/** Validities Cloudflare's Origin CA accepts, in days. */
export const ORIGIN_CERT_VALIDITY_DAYS: readonly number[] = [7, 30, 90, 365, 730, 1095, 5475];

/**
 * Defaults of the optional keys; Pulumi.yaml declares the same values (a test keeps them equal). `bucket` has
 * none: its name must be chosen (components/config/bucket-name.ts).
 */
export const DEFAULTS = {
  dnsRecord: "host" as DnsRecordMode,
  originCertificate: "rsa" as OriginKeyType,
  originCertificateValidityDays: 5475,
  originCertificateGeneration: 1,
  // Off: e2 cannot check Cloudflare's client certificate, and the zone setting reaches every origin of the zone.
  authenticatedOriginPulls: false,
  edgeRules: [...EDGE_RULE_GROUPS],
  cnameWaitSeconds: 0,
  verify: true,
  verifyTimeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
  fallbackRegion: "us-east-1",
  mastodonHostPort: 22,
  mastodonHostEnvFile: DEFAULT_ENV_FILE,
  mastodonHostRestart: DEFAULT_RESTART,
  pushMastodonEnv: false,
  // Off: the redirect rule acts on the instance's own host, which the operator may serve otherwise.
  legacyMediaRedirect: false,
  holdMediaDns: false,
};

/** Keys whose values must be stored encrypted (`pulumi config set --secret`). */
export const SECRET_KEYS = [
  "e2AccessKeyId",
  "e2SecretAccessKey",
  "mastodonAccessKeyId",
  "mastodonSecretAccessKey",
  "mastodonHostSshKey",
] as const;

/** Keys holding objects: Pulumi.yaml's `config:` block can only declare scalars and arrays. */
export const OBJECT_KEYS = ["mastodonEnvExtra", "adopt", "mastodonHost"] as const;

/**
 * Every key the program reads, which are also the fields of MastodonMediaStorageArgs; anything else is a typo
 * and is rejected. A new setting is added here, to the args interface and to normalizeArgs.
 */
export const KNOWN_KEYS = [
  "domain",
  "bucket",
  "e2Endpoint",
  "e2Region",
  "e2AccessKeyId",
  "e2SecretAccessKey",
  "mastodonAccessKeyId",
  "mastodonSecretAccessKey",
  "mastodonEnvExtra",
  "cloudflareZoneId",
  "dnsRecord",
  "originCertificate",
  "originCertificateValidityDays",
  "originCertificateGeneration",
  "authenticatedOriginPulls",
  "edgeRules",
  "cnameWaitSeconds",
  "verify",
  "verifyTimeoutSeconds",
  "adopt",
  "mastodonHost",
  "mastodonHostSshKey",
  "pushMastodonEnv",
  "instanceHost",
  "legacyMediaRedirect",
  "holdMediaDns",
] as const satisfies readonly (keyof MastodonMediaStorageArgs)[];

/** Variables the program writes into Mastodon's env block itself; `mastodonEnvExtra` may not override them. */
export const MANAGED_ENV_KEYS = [
  "S3_ENABLED",
  "S3_PROTOCOL",
  "S3_BUCKET",
  "S3_REGION",
  "S3_ENDPOINT",
  "S3_HOSTNAME",
  "S3_ALIAS_HOST",
  "S3_PERMISSION",
  "AWS_ACCESS_KEY_ID",
  "AWS_SECRET_ACCESS_KEY",
  "AWS_REQUEST_CHECKSUM_CALCULATION",
  "AWS_RESPONSE_CHECKSUM_VALIDATION",
] as const;
