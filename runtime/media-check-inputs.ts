// The media check's inputs: read from the environment the Command sets (never argv), validated all at once,
// with messages that name the variable and never quote a secret.
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from "../components/media-check-limits";
import {
  DEFAULT_MULTIPART_THRESHOLD_BYTES,
  MASTODON_S3_PERMISSION,
  MIN_PART_BYTES,
} from "../components/mastodon-env";

/** The canned ACLs S3 defines: what S3_PERMISSION may name (or be empty: no ACL header). */
const CANNED_ACLS = [
  "private",
  "public-read",
  "public-read-write",
  "authenticated-read",
  "aws-exec-read",
  "bucket-owner-read",
  "bucket-owner-full-control",
];

/** Per-request bound (connect + TLS + answer), in seconds. */
export const DEFAULT_REQUEST_TIMEOUT_SECONDS = 10;

/** Where to connect instead of resolving a name (tests and troubleshooting, like curl's --connect-to). */
export interface Target {
  host: string;
  port: number;
}
export interface ConnectTo {
  /** Applies to every name without its own entry. */
  any?: Target;
  byName: Map<string, Target>;
}

export interface MediaCheckInputs {
  mediaHost: string;
  /** E2_ENDPOINT as given (`host` or `host:port`): it is the Host header e2 sees and signs. */
  e2Endpoint: string;
  e2Host: string;
  e2Port: number;
  bucket: string;
  region: string;
  /** The program's key (config e2AccessKeyId / e2SecretAccessKey). */
  accessKeyId: string;
  secretAccessKey: string;
  /** Mastodon's key (config mastodonAccessKeyId / mastodonSecretAccessKey); absent when Mastodon shares ours. */
  mastodonKey?: KeyPair;
  timeoutSeconds: number;
  requestTimeoutMs: number;
  connectTo: ConnectTo;
  /** S3_PERMISSION as the env block gives it to Mastodon: the canned ACL its uploads carry, "" for none. */
  mastodonPermission: string;
  /** S3_MULTIPART_THRESHOLD as Mastodon will use it, in bytes. */
  multipartThresholdBytes: number;
}

export interface KeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Bad inputs, all of them at once; messages name the variable and never quote a secret. */
export class InputError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid input:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "InputError";
  }
}

const HOST_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;

export function isHostName(value: string): boolean {
  if (value.length > 253) return false;
  const labels = value.split(".");
  return labels.length >= 2 && labels.every((l) => HOST_LABEL.test(l));
}

/** `host:port` → Target, or undefined when malformed. */
function parseHostPort(value: string): Target | undefined {
  const m = /^([^:\s]+):(\d{1,5})$/.exec(value.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  return port >= 1 && port <= 65535 ? { host: m[1], port } : undefined;
}

/** Parses MEDIA_CHECK_CONNECT_TO: `host:port` (every name) or a comma list of `name=host:port`. */
export function parseConnectTo(value: string | undefined): ConnectTo {
  const result: ConnectTo = { byName: new Map() };
  if (value === undefined || value.trim() === "") return result;
  for (const raw of value.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    const eq = entry.indexOf("=");
    const target = parseHostPort(eq === -1 ? entry : entry.slice(eq + 1));
    const name = eq === -1 ? undefined : entry.slice(0, eq).trim().toLowerCase();
    if (!target || name === "") {
      throw new Error(
        `MEDIA_CHECK_CONNECT_TO: "${entry}" is not "host:port" or "name=host:port" (comma-separated)`,
      );
    }
    if (name === undefined) result.any = target;
    else result.byName.set(name, target);
  }
  return result;
}

/** Where to open the TCP connection for `name`; TLS SNI and the Host header stay `name`. */
export function connectTarget(connectTo: ConnectTo, name: string, port: number): Target {
  return connectTo.byName.get(name.toLowerCase()) ?? connectTo.any ?? { host: name, port };
}

function quote(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/**
 * Reads and validates the environment. Throws {@link InputError} listing every problem. `needsMediaHost`
 * false: the multipart probe, which talks to the e2 endpoint only (its Command gets no MEDIA_HOST).
 */
export function parseInputs(
  env: Record<string, string | undefined>,
  { needsMediaHost = true }: { needsMediaHost?: boolean } = {},
): MediaCheckInputs {
  const problems: string[] = [];
  const required = (name: string): string => {
    const v = env[name];
    if (v === undefined || v.trim() === "") {
      problems.push(`${name} is not set`);
      return "";
    }
    return v.trim();
  };

  const mediaHost = needsMediaHost ? required("MEDIA_HOST").toLowerCase() : "";
  if (mediaHost && !isHostName(mediaHost)) {
    problems.push(
      `MEDIA_HOST must be a host name like files.example.social, no scheme, port or path (got ${quote(mediaHost)})`,
    );
  }

  const e2Endpoint = required("E2_ENDPOINT").toLowerCase();
  let e2Host = e2Endpoint;
  let e2Port = 443;
  if (e2Endpoint) {
    const hp = parseHostPort(e2Endpoint);
    if (hp) {
      e2Host = hp.host;
      e2Port = hp.port;
    }
    if (!isHostName(e2Host) || (e2Endpoint.includes(":") && !hp)) {
      problems.push(
        `E2_ENDPOINT must be "host" or "host:port" like s3.eu-central-2.idrivee2.com, no scheme or path (got ${quote(e2Endpoint)})`,
      );
    }
  }

  const bucket = required("S3_BUCKET");
  if (bucket && !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    problems.push(
      `S3_BUCKET must be an S3 bucket name: 3-63 lower-case letters, digits, dots, hyphens (got ${quote(bucket)})`,
    );
  }

  const region = required("S3_REGION");
  if (region && !/^[a-z0-9-]{1,64}$/.test(region)) {
    problems.push(`S3_REGION must be a region code like eu-central-2 (got ${quote(region)})`);
  }

  const accessKeyId = required("AWS_ACCESS_KEY_ID");
  if (accessKeyId && /\s/.test(accessKeyId)) problems.push("AWS_ACCESS_KEY_ID must not contain white space");
  const secretAccessKey = env["AWS_SECRET_ACCESS_KEY"] ?? "";
  if (secretAccessKey === "") problems.push("AWS_SECRET_ACCESS_KEY is not set");
  else if (/\s/.test(secretAccessKey)) problems.push("AWS_SECRET_ACCESS_KEY must not contain white space");

  // Mastodon's key: both halves or neither (neither: Mastodon shares the program's key, proven above).
  const mastodonKeyId = env["MASTODON_ACCESS_KEY_ID"]?.trim() ?? "";
  const mastodonSecret = env["MASTODON_SECRET_ACCESS_KEY"] ?? "";
  let mastodonKey: KeyPair | undefined;
  if ((mastodonKeyId === "") !== (mastodonSecret === "")) {
    problems.push(
      `${mastodonKeyId === "" ? "MASTODON_ACCESS_KEY_ID" : "MASTODON_SECRET_ACCESS_KEY"} is not set, but its other half is; set both or neither`,
    );
  } else if (mastodonKeyId !== "") {
    if (/\s/.test(mastodonKeyId)) problems.push("MASTODON_ACCESS_KEY_ID must not contain white space");
    if (/\s/.test(mastodonSecret)) problems.push("MASTODON_SECRET_ACCESS_KEY must not contain white space");
    mastodonKey = { accessKeyId: mastodonKeyId, secretAccessKey: mastodonSecret };
  }

  const timeoutSeconds = parseNumber(env, "VERIFY_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS, problems, {
    integer: true,
    max: MAX_TIMEOUT_SECONDS,
  });
  const requestTimeoutSeconds = parseNumber(
    env,
    "MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS",
    DEFAULT_REQUEST_TIMEOUT_SECONDS,
    problems,
    { integer: false, max: 120 },
  );

  // Both come from the env block (components/mastodon-env.ts); unset means what the env block sets.
  const mastodonPermission = env["MASTODON_S3_PERMISSION"] ?? MASTODON_S3_PERMISSION;
  if (mastodonPermission !== "" && !CANNED_ACLS.includes(mastodonPermission)) {
    problems.push(
      `MASTODON_S3_PERMISSION must be empty or a canned ACL (${CANNED_ACLS.join(", ")}) (got ${quote(mastodonPermission)})`,
    );
  }
  const rawThreshold = env["S3_MULTIPART_THRESHOLD"]?.trim() ?? "";
  const multipartThresholdBytes =
    rawThreshold === "" ? DEFAULT_MULTIPART_THRESHOLD_BYTES : Number(rawThreshold);
  if (!/^\d{0,15}$/.test(rawThreshold) || multipartThresholdBytes < MIN_PART_BYTES) {
    problems.push(
      `S3_MULTIPART_THRESHOLD must be a whole number of bytes, at least ${MIN_PART_BYTES} (got ${quote(rawThreshold)})`,
    );
  }

  let connectTo: ConnectTo = { byName: new Map() };
  try {
    connectTo = parseConnectTo(env["MEDIA_CHECK_CONNECT_TO"]);
  } catch (e) {
    problems.push((e as Error).message);
  }

  if (problems.length > 0) throw new InputError(problems);
  return {
    mediaHost,
    e2Endpoint,
    e2Host,
    e2Port,
    bucket,
    region,
    accessKeyId,
    secretAccessKey,
    ...(mastodonKey ? { mastodonKey } : {}),
    timeoutSeconds,
    requestTimeoutMs: Math.round(requestTimeoutSeconds * 1000),
    connectTo,
    mastodonPermission,
    multipartThresholdBytes,
  };
}

function parseNumber(
  env: Record<string, string | undefined>,
  name: string,
  fallback: number,
  problems: string[],
  rule: { integer: boolean; max: number },
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === "") return fallback;
  const n = Number(raw.trim());
  if (!Number.isFinite(n) || n <= 0 || n > rule.max || (rule.integer && !Number.isInteger(n))) {
    const kind = rule.integer ? "a whole number of seconds" : "a number of seconds";
    problems.push(`${name} must be ${kind} above 0 and at most ${rule.max} (got ${quote(raw)})`);
    return fallback;
  }
  return n;
}
