// The migrate tool's view of the stack, read only through the Pulumi CLI (`pulumi config --json --show-secrets`,
// `pulumi stack output --json --show-secrets`), validated by the program's own config parser, so the tool writes
// to exactly the bucket, endpoint and region `pulumi up` set up.
//
// Not run here against a real CLI: this machine has no Pulumi CLI; the tests put a stand-in `pulumi` on PATH that
// prints what the CLI prints (pulumi/pulumi pkg/cmd/pulumi/config: `configValueJSON` = {value, objectValue, secret}).
import * as path from "node:path";
import { ConfigError, parseSettings, type RawConfig } from "../../components/config";
import { runPulumi } from "../pulumi-cli";
import { readProjectName } from "../stack-file";
import { MigrateError } from "./errors";

export { runPulumi };

/** The project folder: the CLI reads Pulumi.yaml there, and so does this tool for the config namespace. */
const PROJECT_DIR = path.join(__dirname, "..", "..");

/** An S3 key pair, in memory only: it goes to rclone's environment and nowhere else. */
export interface S3Key {
  accessKeyId: string;
  secretAccessKey: string;
}

/** The Mastodon server, for `--from host`. */
export interface HostTarget {
  host: string;
  user: string;
  port: number;
  /** `ssh-ed25519 AAAA…`: the only key the connection accepts. */
  hostKey: string;
  privateKey: string;
  mediaDir: string;
}

/** Where the media goes, and with which key. */
export interface StackTarget {
  bucket: string;
  /** e2 endpoint host (no scheme). */
  endpoint: string;
  region: string;
  key: S3Key;
  /** "mastodon": Mastodon's own key; "program": the program's e2 key, because the stack has no Mastodon key. */
  keyKind: "mastodon" | "program";
  host?: HostTarget;
  /** Where old local-storage URLs (`https://<instanceHost>/system/<key>`) must now point, and whether the stack's
   * Cloudflare rule (`legacyMediaRedirect`) already does it. */
  oldUrls: { instanceHost: string; mediaHost: string; zone: string; byCloudflareRule: boolean };
  /** Why `host` is undefined, for the message when `--from host` is asked for. */
  hostProblem?: string;
}

function parseJson(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new MigrateError(`\`pulumi ${what}\` did not print JSON`);
  }
}

/** `pulumi config --json` output → the program's RawConfig (bare keys of our namespace). */
export function rawConfigFromCli(json: unknown, namespace: string): RawConfig {
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  if (typeof json !== "object" || json === null) return { namespace, values, secretKeys };
  const prefix = `${namespace}:`;
  for (const [fullKey, entry] of Object.entries(json as Record<string, unknown>)) {
    // The CLI prints full keys; a bare key belongs to the project's namespace.
    const key = fullKey.startsWith(prefix)
      ? fullKey.slice(prefix.length)
      : fullKey.includes(":")
        ? ""
        : fullKey;
    if (!key || typeof entry !== "object" || entry === null) continue;
    const { value, secret } = entry as { value?: unknown; secret?: unknown };
    if (secret === true) secretKeys.add(key);
    if (typeof value === "string") values[key] = value;
    else if (secret === true)
      throw new MigrateError(
        `${namespace}:${key} is encrypted in \`pulumi config --json\`: the CLI must be run with --show-secrets`,
      );
  }
  return { namespace, values, secretKeys };
}

/** Reads and validates the stack; throws MigrateError naming what is missing. */
export function readStackTarget(
  stack?: string,
  pulumi = runPulumi,
  namespace = readProjectName(PROJECT_DIR),
): StackTarget {
  const raw = rawConfigFromCli(
    parseJson(pulumi(["config", "--json", "--show-secrets"], stack), "config --json"),
    namespace,
  );
  let settings;
  try {
    settings = parseSettings(raw);
  } catch (e) {
    if (e instanceof ConfigError) throw new MigrateError(e.message);
    throw e;
  }
  const outputs = parseJson(
    pulumi(["stack", "output", "--json", "--show-secrets"], stack),
    "stack output --json",
  ) as { bucketName?: unknown; e2Endpoint?: unknown };
  // The bucket exists once `pulumi up` made it; its outputs say so, and name it as the program saw it.
  if (typeof outputs?.bucketName !== "string" || typeof outputs.e2Endpoint !== "string") {
    throw new MigrateError(
      "bucket: the stack has no bucketName and e2Endpoint outputs yet: run `pulumi up` to completion first",
    );
  }
  const v = raw.values;
  const keyKind = settings.mastodonSharesProgramKey ? "program" : "mastodon";
  const key =
    keyKind === "mastodon"
      ? { accessKeyId: v.mastodonAccessKeyId!, secretAccessKey: v.mastodonSecretAccessKey! }
      : { accessKeyId: v.e2AccessKeyId!, secretAccessKey: v.e2SecretAccessKey! };
  const target: StackTarget = {
    bucket: outputs.bucketName,
    endpoint: outputs.e2Endpoint,
    region: settings.e2Region,
    key,
    keyKind,
    oldUrls: {
      instanceHost: settings.instanceHost,
      mediaHost: settings.mediaHost,
      zone: settings.domain,
      byCloudflareRule: settings.cloudflare.legacyMediaRedirect,
    },
  };
  const h = settings.mastodonHost;
  if (!h) {
    target.hostProblem = `${namespace}:mastodonHost and mastodonHostSshKey are not set; --from host needs them`;
  } else if (!h.hostKey) {
    target.hostProblem = `${namespace}:mastodonHost.hostKey is not set; --from host needs it (the connection never trusts a host key it has not been given)`;
  } else if (!h.localMediaDir) {
    target.hostProblem = `${namespace}:mastodonHost.localMediaDir is false; set it to the server's public/system for --from host`;
  } else {
    target.host = {
      host: h.host,
      user: h.user,
      port: h.port,
      hostKey: h.hostKey,
      privateKey: v.mastodonHostSshKey!,
      mediaDir: h.localMediaDir,
    };
  }
  return target;
}
