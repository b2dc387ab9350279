// rclone's whole configuration as environment variables of the rclone process (`RCLONE_CONFIG_<REMOTE>_<OPTION>`,
// rclone docs "Config file" → environment variables): no config file, no secret on a command line.
import type { S3Key } from "./stack";

/** Remote names: `e2:` is the stack's bucket, `source:` the other provider. */
export const E2_REMOTE = "e2";
export const SOURCE_REMOTE = "source";

export interface S3Remote {
  name: string;
  /** rclone's s3 provider: "IDrive" for e2 (its quirks known to rclone), "Other" for a generic provider. */
  provider: string;
  /** Host (or URL) of the S3 endpoint. */
  endpoint: string;
  region?: string;
  key: S3Key;
}

/** The variables that define one s3 remote. */
export function s3RemoteEnv(remote: S3Remote): Record<string, string> {
  const p = `RCLONE_CONFIG_${remote.name.toUpperCase()}_`;
  const endpoint = /^https?:\/\//.test(remote.endpoint) ? remote.endpoint : `https://${remote.endpoint}`;
  return {
    [`${p}TYPE`]: "s3",
    [`${p}PROVIDER`]: remote.provider,
    [`${p}ENDPOINT`]: endpoint,
    [`${p}ACCESS_KEY_ID`]: remote.key.accessKeyId,
    [`${p}SECRET_ACCESS_KEY`]: remote.key.secretAccessKey,
    // e2 wants path-style addressing (FACTS.md); so do most S3-compatible providers.
    [`${p}FORCE_PATH_STYLE`]: "true",
    ...(remote.region ? { [`${p}REGION`]: remote.region } : {}),
  };
}

/**
 * Only what a local rclone needs from this process's environment: PATH and HOME to run, TMPDIR, and the CA
 * settings Go reads (SSL_CERT_FILE, SSL_CERT_DIR), for an endpoint behind a private CA. Not AWS_CA_BUNDLE: rclone
 * 1.60 refuses to start an s3 remote while it is set (FACTS.md, rclone).
 */
export function passedThrough(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "TMPDIR", "SSL_CERT_FILE", "SSL_CERT_DIR"]) {
    const value = env[name];
    if (value) out[name] = value;
  }
  return out;
}
