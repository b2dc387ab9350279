// Mastodon's S3 settings for .env.production, rendered from resolved values (pure; no Pulumi types).

/**
 * The env block's S3_PERMISSION: empty, so Mastodon sends no `x-amz-acl` header at all (config/initializers/
 * paperclip.rb: `if ENV['S3_PERMISSION'] == ''` sets `s3_permissions` to a lambda returning nil; unset would
 * mean `public-read`). e2 has no object ACLs; public reads come from the bucket policy. The media check sends
 * the header Mastodon sends, from this value.
 */
export const MASTODON_S3_PERMISSION = "";

/** The Cache-Control Mastodon puts on every object it uploads (config/initializers/paperclip.rb `s3_headers`). */
export const MASTODON_CACHE_CONTROL = "public, max-age=315576000, immutable";

/**
 * Mastodon's default S3_MULTIPART_THRESHOLD, in bytes: `15.megabytes` in config/initializers/paperclip.rb
 * (Rails: 15 × 1024 × 1024). Files of this size or more go up in parts (aws-sdk-s3 FileUploader: `>=`).
 */
export const DEFAULT_MULTIPART_THRESHOLD_BYTES = 15 * 1024 * 1024;

/**
 * The smallest file Mastodon's SDK uploads in parts: aws-sdk-s3's MultipartFileUploader raises "unable to
 * multipart upload files smaller than 5MB" below 5 MiB (MIN_PART_SIZE), so a lower threshold breaks uploads
 * between the threshold and 5 MiB. Also its part size (`[size / 10000, 5 MiB].max`).
 */
export const MIN_PART_BYTES = 5 * 1024 * 1024;

/** The multipart threshold Mastodon will use: S3_MULTIPART_THRESHOLD from the extra variables, else its default. */
export function multipartThresholdBytes(extra?: Record<string, string>): number {
  const raw = extra?.["S3_MULTIPART_THRESHOLD"];
  return raw === undefined ? DEFAULT_MULTIPART_THRESHOLD_BYTES : Number(raw);
}

/** Resolved values the env block is made of. */
export interface MastodonEnvValues {
  bucket: string;
  region: string;
  /** e2 S3 endpoint host, no scheme. */
  endpointHost: string;
  /** Media host readers fetch files from, e.g. files.example.social. */
  mediaHost: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Extra variables appended after the managed ones, in the given order. */
  extra?: Record<string, string>;
}

/** The variables in the order they are written. */
export function mastodonEnvEntries(v: MastodonEnvValues): [string, string][] {
  return [
    ["S3_ENABLED", "true"],
    ["S3_PROTOCOL", "https"],
    ["S3_BUCKET", v.bucket],
    ["S3_REGION", v.region],
    ["S3_ENDPOINT", `https://${v.endpointHost}`],
    ["S3_HOSTNAME", v.endpointHost],
    // Without the alias, media URLs point at Amazon; with it they are https://<mediaHost>/<key>.
    ["S3_ALIAS_HOST", v.mediaHost],
    // Empty: send no ACL header at all. e2 has no object ACLs; public reads come from the bucket policy.
    ["S3_PERMISSION", MASTODON_S3_PERMISSION],
    ["AWS_ACCESS_KEY_ID", v.accessKeyId],
    ["AWS_SECRET_ACCESS_KEY", v.secretAccessKey],
    // The AWS SDK Mastodon 4.5.9+/4.6 ships sends checksums several S3-compatible services reject.
    ["AWS_REQUEST_CHECKSUM_CALCULATION", "WHEN_REQUIRED"],
    ["AWS_RESPONSE_CHECKSUM_VALIDATION", "WHEN_REQUIRED"],
    ...Object.entries(v.extra ?? {}),
  ];
}

/**
 * Quotes a value for dotenv only when it needs it (spaces, `#`, quotes, `$`, backslashes). Single quotes are
 * literal in both Ruby's dotenv (Mastodon) and docker compose's env_file: no escapes, no `$` expansion.
 * A value holding a single quote gets double quotes with backslash escapes instead.
 */
export function quoteEnvValue(value: string): string {
  if (/^[A-Za-z0-9_./:@%+,=-]*$/.test(value)) return value;
  if (!value.includes("'")) return `'${value}'`;
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

/** One `KEY=value` per line, ending with a newline, ready to paste into .env.production. */
export function renderMastodonEnv(v: MastodonEnvValues): string {
  return mastodonEnvEntries(v)
    .map(([k, value]) => `${k}=${quoteEnvValue(value)}`)
    .join("\n")
    .concat("\n");
}
