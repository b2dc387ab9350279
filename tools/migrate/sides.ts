// The two sides of a migration as rclone sees them: a path (`e2:bucket`, `source:bucket/prefix`, a directory),
// the environment that defines its remote, and the words messages use to name it.
import { UsageError } from "../stack-args";
import type { Source } from "./args";
import { E2_REMOTE, s3RemoteEnv, SOURCE_REMOTE } from "./rclone-env";
import type { StackTarget } from "./stack";

export interface Side {
  /** How messages name it: "source (…)" or "bucket (…)". */
  label: string;
  kind: "source" | "bucket";
  /** rclone's path for it. */
  path: string;
  env: Record<string, string>;
  /** What to check when it refuses or cannot be reached. */
  keyHint: string;
  reachHint: string;
  /** A local directory (on this machine or the host): a missing one is named as such. */
  directory?: string;
}

export function bucketSide(target: StackTarget): Side {
  const keys =
    target.keyKind === "mastodon"
      ? "mastodonAccessKeyId/mastodonSecretAccessKey"
      : "e2AccessKeyId/e2SecretAccessKey (used because the stack has no Mastodon key)";
  return {
    label: `bucket (${target.bucket} at ${target.endpoint})`,
    kind: "bucket",
    path: `${E2_REMOTE}:${target.bucket}`,
    // IDrive: rclone's s3 provider for e2.
    env: s3RemoteEnv({
      name: E2_REMOTE,
      provider: "IDrive",
      endpoint: target.endpoint,
      region: target.region,
      key: target.key,
    }),
    keyHint: `check the stack's ${keys}: the key must list, read and write the bucket`,
    reachHint: "check the stack's e2Endpoint and this machine's (or the host's) network",
  };
}

export function sourceSide(source: Source, target: StackTarget, env: NodeJS.ProcessEnv): Side {
  switch (source.kind) {
    case "dir":
      return {
        label: `source (${source.path})`,
        kind: "source",
        path: source.path,
        env: {},
        keyHint: "check that this user may read it",
        reachHint: "",
        directory: source.path,
      };
    case "host": {
      const h = target.host!;
      return {
        label: `source (host ${h.host}: ${h.mediaDir})`,
        kind: "source",
        path: h.mediaDir,
        env: {},
        keyHint: `check that ${h.user} may read it`,
        reachHint: "",
        directory: h.mediaDir,
      };
    }
    case "s3": {
      const accessKeyId = env.SOURCE_ACCESS_KEY_ID;
      const secretAccessKey = env.SOURCE_SECRET_ACCESS_KEY;
      if (!accessKeyId || !secretAccessKey)
        throw new UsageError(
          "--from s3://… reads the other provider's key from SOURCE_ACCESS_KEY_ID and SOURCE_SECRET_ACCESS_KEY: export both",
        );
      const where = `s3://${source.bucket}${source.prefix ? `/${source.prefix}` : ""}`;
      return {
        label: `source (${where} at ${source.endpoint})`,
        kind: "source",
        path: `${SOURCE_REMOTE}:${source.bucket}${source.prefix ? `/${source.prefix}` : ""}`,
        // "Other": a generic S3 provider; rclone's defaults for it suit AWS, Wasabi, B2's S3 API, Spaces, Ceph.
        env: s3RemoteEnv({
          name: SOURCE_REMOTE,
          provider: "Other",
          endpoint: source.endpoint,
          ...(source.region ? { region: source.region } : {}),
          key: { accessKeyId, secretAccessKey },
        }),
        keyHint:
          "check SOURCE_ACCESS_KEY_ID and SOURCE_SECRET_ACCESS_KEY: the key must list and read that bucket",
        reachHint: "check --source-endpoint (and --source-region) and the network",
      };
    }
  }
}

/** A message for a side that failed, from rclone's (redacted) errors and exit code. */
export function sideFailure(side: Side, what: string, errors: string[], code: number | null): string {
  const said = errors.join("; ");
  let hint = "";
  if (code === 3 && side.directory)
    hint = `${side.directory} does not exist${side.label.includes("host") ? " on the host: set mastodonHost.localMediaDir" : ""}`;
  else if (
    /InvalidAccessKeyId|SignatureDoesNotMatch|AccessDenied|Forbidden|status code: 403|permission denied/i.test(
      said,
    )
  )
    hint = side.keyHint;
  else if (/NoSuchBucket|status code: 404/.test(said))
    hint = "the bucket does not exist there: check its name and the endpoint";
  else if (/dial tcp|no such host|connection refused|x509|certificate|timeout|EOF/i.test(said))
    hint = side.reachHint;
  return `${side.label}: ${what} failed${said ? `: ${said}` : ` (rclone exit ${code})`}${hint ? `. What to do: ${hint}` : ""}`;
}
