// Stack configuration → validated, typed settings. No resources here: everything is checked before the
// program registers anything, and every problem is reported at once, naming the key and what is expected.
import * as pulumi from "@pulumi/pulumi";
import {
  EDGE_RULE_GROUPS,
  PHASE_OF_GROUP,
  RULESET_PHASES,
  type EdgeRuleGroup,
  type RulesetPhase,
} from "./edge-rules";
import { MAX_WAIT_SECONDS } from "./e2-custom-domain";
import { DEFAULT_ENV_FILE, DEFAULT_RESTART, type MastodonRestart } from "./mastodon-env-push";
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from "../scripts/lib/media-checks";

/** Config namespace: the project name in Pulumi.yaml. */
export const CONFIG_NAMESPACE = "mastodon-media";

export type DnsRecordMode = "host" | "wildcard";
export type OriginKeyType = "rsa" | "ecc";
export type RestartMode = MastodonRestart;
export type { EdgeRuleGroup, RulesetPhase };

/** Validities Cloudflare's Origin CA accepts, in days. */
export const ORIGIN_CERT_VALIDITY_DAYS: readonly number[] = [7, 30, 90, 365, 730, 1095, 5475];

/** Defaults of the optional keys; Pulumi.yaml declares the same values (a test keeps them equal). */
export const DEFAULTS = {
  bucket: "files",
  dnsRecord: "host" as DnsRecordMode,
  originCertificate: "rsa" as OriginKeyType,
  originCertificateValidityDays: 5475,
  originCertificateGeneration: 1,
  authenticatedOriginPulls: true,
  edgeRules: [...EDGE_RULE_GROUPS],
  cnameWaitSeconds: 0,
  verify: true,
  verifyTimeoutSeconds: DEFAULT_TIMEOUT_SECONDS,
  fallbackRegion: "us-east-1",
  mastodonHostPort: 22,
  mastodonHostEnvFile: DEFAULT_ENV_FILE,
  mastodonHostRestart: DEFAULT_RESTART,
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

/** Every key the program reads; anything else in the namespace is a typo and is rejected. */
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
] as const;

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

/** An access key pair; both halves are secret Outputs. */
export interface Credentials {
  accessKeyId: pulumi.Output<string>;
  secretAccessKey: pulumi.Output<string>;
}

/** Where and how to push the env block to the Mastodon server (optional). */
export interface MastodonHostSettings {
  host: string;
  user: string;
  port: number;
  envFile: string;
  restart: RestartMode;
  /** The server's SSH public host key (`ssh-ed25519 AAAA...`); unchecked when absent. */
  hostKey?: string;
  privateKey: pulumi.Output<string>;
}

/** Everything the program needs, validated. Plain values except the secrets. */
export interface Settings {
  domain: string;
  bucket: string;
  /** `<bucket>.<domain>`: the host Mastodon puts in media URLs. */
  mediaHost: string;
  /** e2 S3 endpoint host name, no scheme. */
  e2Endpoint: string;
  e2Region: string;
  e2Credentials: Credentials;
  mastodonCredentials: Credentials;
  /** True when Mastodon gets the program's own e2 key because no bucket-scoped key was configured. */
  mastodonSharesProgramKey: boolean;
  mastodonEnvExtra: Record<string, string>;
  cloudflare: {
    zoneId?: string;
    dnsRecord: DnsRecordMode;
    originCertificate: { keyType: OriginKeyType; validityDays: number; generation: number };
    authenticatedOriginPulls: boolean;
    edgeRules: Record<EdgeRuleGroup, boolean>;
  };
  cnameWaitSeconds: number;
  verify: { enabled: boolean; timeoutSeconds: number };
  adopt: { bucket: boolean; dnsRecordId?: string; rulesets: Partial<Record<RulesetPhase, string>> };
  mastodonHost?: MastodonHostSettings;
}

/** Raw stack config: bare key → string value as the runtime delivers it, plus which keys are encrypted. */
export interface RawConfig {
  values: Readonly<Record<string, string>>;
  secretKeys: ReadonlySet<string>;
}

/** Thrown for bad configuration; a RunError, so Pulumi prints the message without a stack trace. */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(
      `Invalid stack configuration (nothing was created or changed):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

/** Reads this stack's config in the `mastodon-media` namespace from the Pulumi runtime. */
export function readStackConfig(): RawConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  // isConfigSecret is exported by the runtime but not in its typings.
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret: (key: string) => boolean }).isConfigSecret;
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    values[key] = value;
    if (isSecret(fullKey)) secretKeys.add(key);
  }
  return { values, secretKeys };
}

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z]{2}(-[a-z0-9]+)+$/;
const ZONE_ID = /^[0-9a-f]{32}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const E2_REGIONAL_ENDPOINT = /^s3\.([a-z0-9-]+)\.idrivee2\.com$/;

export function isDnsName(name: string): boolean {
  const labels = name.split(".");
  return name.length <= 253 && labels.length >= 2 && labels.every((l) => DNS_LABEL.test(l));
}

const show = (value: unknown) => JSON.stringify(value);

/** Collects problems while parsing so that the operator sees all of them in one run. */
class Problems {
  readonly list: string[] = [];
  add(key: string, value: unknown, expected: string): undefined {
    const got = value === undefined ? "is not set" : `is ${show(value)}`;
    this.list.push(`${CONFIG_NAMESPACE}:${key} ${got}; expected ${expected}.`);
    return undefined;
  }
  /** For secrets and other values that must not be echoed. */
  addHidden(key: string, message: string): undefined {
    this.list.push(`${CONFIG_NAMESPACE}:${key} ${message}`);
    return undefined;
  }
}

/** Parses and validates raw stack config. Throws ConfigError listing every problem. */
export function parseSettings(raw: RawConfig): Settings {
  const problems = new Problems();
  const get = (key: string): string | undefined => {
    const v = raw.values[key];
    return v === undefined || v === "" ? undefined : v;
  };

  for (const key of Object.keys(raw.values)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      problems.addHidden(key, `is not a setting of this program; known settings: ${KNOWN_KEYS.join(", ")}.`);
    }
  }

  const domain = parseDomain(get("domain"), problems);
  const bucket = parseBucket(get("bucket") ?? DEFAULTS.bucket, problems);
  const mediaHost = domain && bucket ? `${bucket}.${domain}` : "";
  if (mediaHost.length > 253)
    problems.add("bucket", bucket, `a name short enough that "${mediaHost}" fits 253 characters`);
  const e2Endpoint = parseEndpoint(get("e2Endpoint"), problems);
  const e2Region = parseRegion(get("e2Region"), e2Endpoint, problems);

  const secret = (key: string, required: boolean): pulumi.Output<string> | undefined => {
    const value = get(key);
    if (value === undefined) {
      if (required) problems.addHidden(key, `is not set; set it with \`pulumi config set --secret ${key}\`.`);
      return undefined;
    }
    if (!raw.secretKeys.has(key)) {
      return problems.addHidden(
        key,
        `is stored in plain text; it is a secret: set it again with \`pulumi config set --secret ${key}\` (value not shown).`,
      );
    }
    return pulumi.secret(value);
  };
  const e2Key = secret("e2AccessKeyId", true);
  const e2Secret = secret("e2SecretAccessKey", true);
  const mastodonKey = secret("mastodonAccessKeyId", false);
  const mastodonSecret = secret("mastodonSecretAccessKey", false);
  if ((get("mastodonAccessKeyId") === undefined) !== (get("mastodonSecretAccessKey") === undefined)) {
    problems.addHidden(
      get("mastodonAccessKeyId") === undefined ? "mastodonAccessKeyId" : "mastodonSecretAccessKey",
      "is not set, but its other half is; set both mastodonAccessKeyId and mastodonSecretAccessKey, or neither.",
    );
  }

  const mastodonEnvExtra = parseEnvExtra(get("mastodonEnvExtra"), problems);
  const zoneId = get("cloudflareZoneId");
  if (zoneId !== undefined && !ZONE_ID.test(zoneId)) {
    problems.add(
      "cloudflareZoneId",
      zoneId,
      "the zone's ID: 32 lowercase hexadecimal characters (Cloudflare dashboard → Overview)",
    );
  }
  const dnsRecord = parseChoice(
    "dnsRecord",
    get("dnsRecord") ?? DEFAULTS.dnsRecord,
    ["host", "wildcard"] as const,
    problems,
  );
  const keyType = parseChoice(
    "originCertificate",
    get("originCertificate") ?? DEFAULTS.originCertificate,
    ["rsa", "ecc"] as const,
    problems,
  );
  const validityDays = parseInteger(
    "originCertificateValidityDays",
    get("originCertificateValidityDays"),
    DEFAULTS.originCertificateValidityDays,
    problems,
  );
  if (validityDays !== undefined && !ORIGIN_CERT_VALIDITY_DAYS.includes(validityDays)) {
    problems.add(
      "originCertificateValidityDays",
      String(validityDays),
      `one of ${ORIGIN_CERT_VALIDITY_DAYS.join(", ")} (days)`,
    );
  }
  const generation = parseInteger(
    "originCertificateGeneration",
    get("originCertificateGeneration"),
    DEFAULTS.originCertificateGeneration,
    problems,
    1,
  );
  const authenticatedOriginPulls = parseBoolean(
    "authenticatedOriginPulls",
    get("authenticatedOriginPulls"),
    DEFAULTS.authenticatedOriginPulls,
    problems,
  );
  const edgeRules = parseEdgeRules(get("edgeRules"), problems);
  const cnameWaitSeconds = parseInteger(
    "cnameWaitSeconds",
    get("cnameWaitSeconds"),
    DEFAULTS.cnameWaitSeconds,
    problems,
    0,
    MAX_WAIT_SECONDS,
  );
  const verifyEnabled = parseBoolean("verify", get("verify"), DEFAULTS.verify, problems);
  const verifyTimeoutSeconds = parseInteger(
    "verifyTimeoutSeconds",
    get("verifyTimeoutSeconds"),
    DEFAULTS.verifyTimeoutSeconds,
    problems,
    1,
    MAX_TIMEOUT_SECONDS,
  );
  const adopt = parseAdopt(get("adopt"), problems);
  const mastodonHost = parseMastodonHost(get("mastodonHost"), problems, () =>
    secret("mastodonHostSshKey", true),
  );
  if (mastodonHost === undefined && get("mastodonHostSshKey") !== undefined) {
    problems.addHidden(
      "mastodonHostSshKey",
      "is set but mastodonHost is not; set mastodonHost too, or remove the key.",
    );
  }

  if (adopt && (adopt.dnsRecordId || Object.keys(adopt.rulesets).length > 0) && zoneId === undefined) {
    problems.addHidden(
      "cloudflareZoneId",
      "is not set, but adopt names Cloudflare IDs; import IDs need the zone ID: set cloudflareZoneId.",
    );
  }
  for (const phase of Object.keys(adopt?.rulesets ?? {}) as RulesetPhase[]) {
    const group = EDGE_RULE_GROUPS.find((g) => PHASE_OF_GROUP[g] === phase)!;
    if (edgeRules && !edgeRules[group]) {
      problems.addHidden(
        `adopt.rulesets.${phase}`,
        `adopts a ruleset for the "${group}" rule group, which edgeRules turns off; add "${group}" to edgeRules or drop the adoption.`,
      );
    }
  }

  if (problems.list.length > 0) throw new ConfigError(problems.list);

  const e2Credentials = { accessKeyId: e2Key!, secretAccessKey: e2Secret! };
  const sharesKey = mastodonKey === undefined;
  return {
    domain: domain!,
    bucket,
    mediaHost,
    e2Endpoint: e2Endpoint!,
    e2Region: e2Region!,
    e2Credentials,
    mastodonCredentials: sharesKey
      ? e2Credentials
      : { accessKeyId: mastodonKey, secretAccessKey: mastodonSecret! },
    mastodonSharesProgramKey: sharesKey,
    mastodonEnvExtra: mastodonEnvExtra ?? {},
    cloudflare: {
      zoneId,
      dnsRecord: dnsRecord!,
      originCertificate: { keyType: keyType!, validityDays: validityDays!, generation: generation! },
      authenticatedOriginPulls: authenticatedOriginPulls!,
      edgeRules: edgeRules!,
    },
    cnameWaitSeconds: cnameWaitSeconds!,
    verify: { enabled: verifyEnabled!, timeoutSeconds: verifyTimeoutSeconds! },
    adopt: adopt ?? { bucket: false, rulesets: {} },
    mastodonHost,
  };
}

function parseDomain(value: string | undefined, problems: Problems): string | undefined {
  if (value === undefined)
    return problems.add("domain", value, "the Cloudflare zone apex of the instance, e.g. example.social");
  const domain = value.toLowerCase().replace(/\.$/, "");
  if (!isDnsName(domain))
    return problems.add("domain", value, "a DNS name such as example.social (no scheme, no path)");
  return domain;
}

function parseBucket(value: string, problems: Problems): string {
  const ok = BUCKET_NAME.test(value) && !value.startsWith("xn--") && !value.endsWith("-s3alias");
  if (!ok) {
    problems.add(
      "bucket",
      value,
      "an S3 bucket name that is also one DNS label: 3-63 characters, lowercase letters, digits and hyphens, starting and ending with a letter or digit",
    );
  }
  return value;
}

function parseEndpoint(value: string | undefined, problems: Problems): string | undefined {
  const expected =
    "the e2 S3 endpoint host of the bucket's region, e.g. s3.eu-central-2.idrivee2.com (optionally with https://; no path, no port)";
  if (value === undefined) return problems.add("e2Endpoint", value, expected);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (scheme && scheme[1].toLowerCase() !== "https")
    return problems.add("e2Endpoint", value, `an https endpoint; ${expected}`);
  const host = value
    .replace(/^https:\/\//i, "")
    .replace(/\/$/, "")
    .toLowerCase();
  if (!isDnsName(host)) return problems.add("e2Endpoint", value, expected);
  return host;
}

function parseRegion(
  value: string | undefined,
  endpoint: string | undefined,
  problems: Problems,
): string | undefined {
  if (value !== undefined) {
    if (!REGION.test(value))
      return problems.add("e2Region", value, "a region code such as eu-central-2 or us-midwest-1");
    return value;
  }
  const derived = endpoint ? E2_REGIONAL_ENDPOINT.exec(endpoint)?.[1] : undefined;
  return derived ?? DEFAULTS.fallbackRegion;
}

function parseChoice<T extends string>(
  key: string,
  value: string,
  choices: readonly T[],
  problems: Problems,
): T | undefined {
  if ((choices as readonly string[]).includes(value)) return value as T;
  return problems.add(key, value, `one of ${choices.map((c) => show(c)).join(", ")}`);
}

function parseInteger(
  key: string,
  value: string | undefined,
  fallback: number,
  problems: Problems,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return fallback;
  const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max)
    return problems.add(key, value, `a whole number, ${range}`);
  return Number(value);
}

function parseBoolean(
  key: string,
  value: string | undefined,
  fallback: boolean,
  problems: Problems,
): boolean | undefined {
  if (value === undefined) return fallback;
  if (value === "true" || value === "false") return value === "true";
  return problems.add(key, value, "true or false");
}

function parseJson(key: string, value: string, problems: Problems, expected: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return problems.add(key, value, expected);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function parseEdgeRules(
  value: string | undefined,
  problems: Problems,
): Record<EdgeRuleGroup, boolean> | undefined {
  const expected = `a list drawn from ${EDGE_RULE_GROUPS.map((g) => show(g)).join(", ")} (set with \`pulumi config set --path 'edgeRules[0]' ssl\`; an empty list turns every rule group off)`;
  const groups = value === undefined ? DEFAULTS.edgeRules : parseJson("edgeRules", value, problems, expected);
  if (groups === undefined) return undefined;
  if (!Array.isArray(groups) || groups.some((g) => !(EDGE_RULE_GROUPS as readonly unknown[]).includes(g))) {
    return problems.add("edgeRules", value, expected);
  }
  return Object.fromEntries(EDGE_RULE_GROUPS.map((g) => [g, groups.includes(g)])) as Record<
    EdgeRuleGroup,
    boolean
  >;
}

function parseEnvExtra(value: string | undefined, problems: Problems): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const expected = 'an object of extra Mastodon variables, e.g. {"S3_FORCE_SINGLE_REQUEST": "true"}';
  const parsed = parseJson("mastodonEnvExtra", value, problems, expected);
  if (parsed === undefined) return undefined;
  if (!isPlainObject(parsed)) return problems.add("mastodonEnvExtra", value, expected);
  const extra: Record<string, string> = {};
  for (const [name, v] of Object.entries(parsed)) {
    const key = `mastodonEnvExtra.${name}`;
    if (!ENV_NAME.test(name)) {
      problems.add(key, name, "an environment variable name: uppercase letters, digits and underscores");
    } else if ((MANAGED_ENV_KEYS as readonly string[]).includes(name)) {
      problems.addHidden(
        key,
        `is set by the program itself and cannot be overridden; remove it from mastodonEnvExtra.`,
      );
    } else if (!["string", "number", "boolean"].includes(typeof v) || /[\r\n\0]/.test(String(v))) {
      problems.add(key, v, "a single-line string, number or boolean");
    } else {
      extra[name] = String(v);
    }
  }
  return extra;
}

function parseAdopt(value: string | undefined, problems: Problems): Settings["adopt"] | undefined {
  if (value === undefined) return undefined;
  const expected = `an object like {"bucket": true, "dnsRecordId": "<32 hex>", "rulesets": {"<phase>": "<32 hex>"}} with phases ${RULESET_PHASES.join(", ")}`;
  const parsed = parseJson("adopt", value, problems, expected);
  if (parsed === undefined) return undefined;
  if (!isPlainObject(parsed)) return problems.add("adopt", value, expected);
  const adopt: Settings["adopt"] = { bucket: false, rulesets: {} };
  for (const [field, v] of Object.entries(parsed)) {
    const key = `adopt.${field}`;
    if (field === "bucket") {
      if (typeof v !== "boolean") problems.add(key, v, "true or false");
      else adopt.bucket = v;
    } else if (field === "dnsRecordId") {
      if (typeof v !== "string" || !ZONE_ID.test(v))
        problems.add(key, v, "the DNS record's ID: 32 hexadecimal characters");
      else adopt.dnsRecordId = v;
    } else if (field === "rulesets") {
      if (!isPlainObject(v)) {
        problems.add(key, v, "an object mapping a phase to a ruleset ID");
        continue;
      }
      for (const [phase, id] of Object.entries(v)) {
        if (!(RULESET_PHASES as readonly string[]).includes(phase)) {
          problems.add(`${key}.${phase}`, phase, `one of the phases ${RULESET_PHASES.join(", ")}`);
        } else if (typeof id !== "string" || !ZONE_ID.test(id)) {
          problems.add(`${key}.${phase}`, id, "the ruleset's ID: 32 hexadecimal characters");
        } else {
          adopt.rulesets[phase as RulesetPhase] = id;
        }
      }
    } else {
      problems.add(key, field, "one of bucket, dnsRecordId, rulesets");
    }
  }
  return adopt;
}

function parseMastodonHost(
  value: string | undefined,
  problems: Problems,
  sshKey: () => pulumi.Output<string> | undefined,
): MastodonHostSettings | undefined {
  if (value === undefined) return undefined;
  const expected = `an object like {"host": "mastodon.example.social", "user": "mastodon", "port": 22, "envFile": "${DEFAULTS.mastodonHostEnvFile}", "restart": "systemd", "hostKey": "ssh-ed25519 AAAA..."}`;
  const parsed = parseJson("mastodonHost", value, problems, expected);
  if (parsed === undefined) return undefined;
  if (!isPlainObject(parsed)) return problems.add("mastodonHost", value, expected);
  const {
    host,
    user,
    port = DEFAULTS.mastodonHostPort,
    envFile = DEFAULTS.mastodonHostEnvFile,
    restart = DEFAULTS.mastodonHostRestart,
    hostKey,
    ...rest
  } = parsed;
  for (const field of Object.keys(rest))
    problems.add(`mastodonHost.${field}`, field, "one of host, user, port, envFile, restart, hostKey");
  if (
    hostKey !== undefined &&
    (typeof hostKey !== "string" || !/^(ssh-|ecdsa-)[a-z0-9-]+ [A-Za-z0-9+/=]+$/.test(hostKey.trim()))
  ) {
    problems.add(
      "mastodonHost.hostKey",
      hostKey,
      'the server\'s public host key, e.g. "ssh-ed25519 AAAA..." (from ssh-keyscan or /etc/ssh/ssh_host_ed25519_key.pub, without the comment)',
    );
  }
  const hostOk =
    typeof host === "string" &&
    (isDnsName(host.toLowerCase()) || /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || /^[0-9a-f:]+$/i.test(host));
  if (!hostOk)
    problems.add("mastodonHost.host", host, "the SSH host name or IP address of the Mastodon server");
  if (typeof user !== "string" || !/^[a-z_][a-z0-9_.-]*$/i.test(user))
    problems.add("mastodonHost.user", user, "a Unix user name");
  if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65535)
    problems.add("mastodonHost.port", port, "a TCP port, 1-65535");
  if (typeof envFile !== "string" || !envFile.startsWith("/") || /[\r\n\0'"$`\\]/.test(envFile)) {
    problems.add(
      "mastodonHost.envFile",
      envFile,
      "an absolute path without quotes, $, backquotes or backslashes",
    );
  }
  const restartOk = restart === "systemd" || restart === "docker-compose" || restart === "none";
  if (!restartOk) problems.add("mastodonHost.restart", restart, `one of "systemd", "docker-compose", "none"`);
  const privateKey = sshKey();
  if (!hostOk || !restartOk || privateKey === undefined) return undefined;
  return {
    host: host as string,
    user: user as string,
    port: port as number,
    envFile: envFile as string,
    restart,
    hostKey: typeof hostKey === "string" ? hostKey.trim() : undefined,
    privateKey,
  };
}
