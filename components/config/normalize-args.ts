// The one path from settings to the validated Settings the component is built from: defaults, validation and
// derived values (media host, region). Two callers: the stack config (parseSettings: text values) and a
// program's MastodonMediaStorageArgs (typed values, secrets and extra env variables possibly Outputs).
// Plain values are checked at once, every problem reported together before anything is registered; a value
// that is an Output is checked with the same words when it resolves, which then fails the deployment.
import * as pulumi from "@pulumi/pulumi";
import { INPUT_ARGS, type MastodonMediaStorageArgs } from "../mastodon-media-storage-args";
import { parseAdopt } from "./adopt";
import { parseEdgeRules } from "./edge-rules-setting";
import { parseEnvExtra } from "./env-extra";
import {
  DEFAULTS,
  KNOWN_KEYS,
  MAX_TIMEOUT_SECONDS,
  MAX_WAIT_SECONDS,
  ORIGIN_CERT_VALIDITY_DAYS,
} from "./keys";
import { parseMastodonHost } from "./mastodon-host";
import { Problems } from "./problems";
import { parsePushMastodonEnv, SHARED_KEY_MESSAGE } from "./push-mastodon-env";
import { didYouMean } from "./suggest";
import type { Settings } from "./settings";
import { parseBucket } from "./bucket-name";
import { parseHoldMediaDns } from "./hold-media-dns";
import { parseInstanceHost, parseLegacyMediaRedirect } from "./legacy-media-redirect-setting";
import {
  parseBoolean,
  parseChoice,
  parseDomain,
  parseEndpoint,
  parseInteger,
  parseRegion,
  ZONE_ID,
} from "./values";

/**
 * Values as either caller gives them: MastodonMediaStorageArgs, or the stack config's text (numbers, booleans
 * and objects as JSON text) for any field.
 */
export type ArgValues = {
  [K in keyof MastodonMediaStorageArgs]?: MastodonMediaStorageArgs[K] | string;
};

/** A value that is not known yet: checked when it resolves. */
const isPending = (v: unknown) => pulumi.Output.isInstance(v) || v instanceof Promise;

/** `value` once resolved, checked by `check` with a fresh problem list of the same source; throws on problems. */
function checkedWhenResolved<R>(
  parent: Problems,
  value: unknown,
  check: (resolved: unknown, problems: Problems) => R,
): pulumi.Output<R> {
  return (pulumi.output(value) as pulumi.Output<unknown>).apply((resolved) => {
    const problems = new Problems(parent.source, parent.namespace);
    const result = check(resolved, problems);
    problems.throwIfAny(true);
    return result;
  });
}

/**
 * Validates and completes settings. Adds every problem to `problems` and returns undefined if there is any.
 * `secretFields`: stack config keys stored encrypted (their values are never echoed in a problem).
 */
export function normalizeArgs(
  args: ArgValues,
  problems: Problems,
  secretFields: ReadonlySet<string> = new Set(),
): Settings | undefined {
  const source = problems.source;
  const values = args as Record<string, unknown>;
  const get = (key: string): unknown => {
    const v = values[key];
    return v === undefined || v === "" ? undefined : v;
  };

  for (const key of Object.keys(values)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      problems.addHidden(
        key,
        `is not a setting of this program${didYouMean(key, KNOWN_KEYS)}; known settings: ${KNOWN_KEYS.join(", ")}.`,
      );
    }
  }
  // Only the Input fields can wait for an Output; the others shape the resource graph (mastodon-media-storage-args.ts).
  const refusedOutputs = new Set<string>();
  const plain = (key: string): unknown => {
    const v = get(key);
    if (!isPending(v) || (INPUT_ARGS as readonly string[]).includes(key)) return v;
    if (refusedOutputs.has(key)) return undefined;
    refusedOutputs.add(key);
    return problems.addHidden(
      key,
      "is an Output; expected a plain value: it decides which resources are registered, which Pulumi must know before any Output resolves.",
    );
  };

  const domain = parseDomain(plain("domain"), problems);
  const bucket = parseBucket(plain("bucket"), domain, problems);
  const mediaHost = domain && bucket ? `${bucket}.${domain}` : "";
  // `domain` is the zone apex; a media host given there would be served from a host one level deeper.
  if (domain && domain.split(".").length > 2 && domain.split(".")[0] === bucket) {
    problems.add(
      "domain",
      get("domain"),
      `the Cloudflare zone apex (e.g. example.social), not the media host: media is served from <bucket>.<domain>, which would be "${mediaHost}". If ${domain} really is the zone, choose another bucket name`,
    );
  }
  if (mediaHost.length > 253)
    problems.add("bucket", bucket, `a name short enough that "${mediaHost}" fits 253 characters`);
  const e2Endpoint = parseEndpoint(plain("e2Endpoint"), problems);
  const e2Region = parseRegion(plain("e2Region"), e2Endpoint, problems);

  const notSet =
    source === "config"
      ? (key: string) => `is not set; set it with \`pulumi config set --secret ${key}\`.`
      : () => "is not set; expected a non-empty string or an Output of one (kept secret).";
  /** A secret: required or not; an Output's emptiness is checked when it resolves. Never echoed. */
  const secret = (key: string, required: boolean): pulumi.Output<string> | undefined => {
    const value = get(key);
    if (value === undefined) {
      if (required) problems.addHidden(key, notSet(key));
      return undefined;
    }
    const text = isPending(value)
      ? checkedWhenResolved(problems, value, (v, p) =>
          typeof v === "string" && v !== "" ? v : (p.addHidden(key, notSet(key)) ?? ""),
        )
      : typeof value === "string"
        ? value
        : (problems.addHidden(key, "is not a string (value not shown: it is a secret).") ?? "");
    return pulumi.secret(text);
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

  const envExtraValue = get("mastodonEnvExtra");
  const mastodonEnvExtra = isPending(envExtraValue)
    ? // Whatever an Output holds may be secret: its values are not echoed.
      checkedWhenResolved(problems, envExtraValue, (v, p) => parseEnvExtra(v ?? {}, p, true) ?? {})
    : parseEnvExtra(envExtraValue, problems, secretFields.has("mastodonEnvExtra"));
  const zoneId = plain("cloudflareZoneId");
  if (zoneId !== undefined && !(typeof zoneId === "string" && ZONE_ID.test(zoneId))) {
    problems.add(
      "cloudflareZoneId",
      zoneId,
      "the zone's ID: 32 lowercase hexadecimal characters (Cloudflare dashboard → Overview)",
    );
  }
  const dnsRecord = parseChoice(
    "dnsRecord",
    plain("dnsRecord") ?? DEFAULTS.dnsRecord,
    ["host", "wildcard"] as const,
    problems,
  );
  const keyType = parseChoice(
    "originCertificate",
    plain("originCertificate") ?? DEFAULTS.originCertificate,
    ["rsa", "ecc"] as const,
    problems,
  );
  const validityValue = plain("originCertificateValidityDays");
  const validityDays =
    validityValue === undefined ? DEFAULTS.originCertificateValidityDays : Number(validityValue);
  const validityOk =
    validityValue === undefined ||
    ((typeof validityValue === "string" || typeof validityValue === "number") &&
      ORIGIN_CERT_VALIDITY_DAYS.map(String).includes(String(validityValue)));
  if (!validityOk) {
    problems.add(
      "originCertificateValidityDays",
      validityValue,
      `one of ${ORIGIN_CERT_VALIDITY_DAYS.join(", ")} (days; 5475 is 15 years, the longest Cloudflare issues)`,
    );
  }
  const generation = parseInteger(
    "originCertificateGeneration",
    plain("originCertificateGeneration"),
    DEFAULTS.originCertificateGeneration,
    problems,
    1,
  );
  const authenticatedOriginPulls = parseBoolean(
    "authenticatedOriginPulls",
    plain("authenticatedOriginPulls"),
    DEFAULTS.authenticatedOriginPulls,
    problems,
  );
  const edgeRules = parseEdgeRules(plain("edgeRules"), problems);
  const cnameWaitSeconds = parseInteger(
    "cnameWaitSeconds",
    plain("cnameWaitSeconds"),
    DEFAULTS.cnameWaitSeconds,
    problems,
    0,
    MAX_WAIT_SECONDS,
  );
  const verifyEnabled = parseBoolean("verify", plain("verify"), DEFAULTS.verify, problems);
  const verifyTimeoutSeconds = parseInteger(
    "verifyTimeoutSeconds",
    plain("verifyTimeoutSeconds"),
    DEFAULTS.verifyTimeoutSeconds,
    problems,
    1,
    MAX_TIMEOUT_SECONDS,
  );
  const adopt = parseAdopt(plain("adopt"), problems);
  const instanceHost = parseInstanceHost(plain("instanceHost"), domain, mediaHost, problems);
  const legacyMediaRedirect = parseLegacyMediaRedirect(
    plain("legacyMediaRedirect"),
    instanceHost,
    domain,
    problems,
  );
  const holdMediaDns = parseHoldMediaDns(plain, adopt?.dnsRecordId !== undefined, problems);
  const pushMastodonEnv = parsePushMastodonEnv(plain, problems);
  const mastodonHost = parseMastodonHost(
    plain("mastodonHost"),
    problems,
    () => secret("mastodonHostSshKey", true),
    pushMastodonEnv,
  );
  // Only when mastodonHost is absent: when it is set but invalid, its own problems are already listed.
  if (get("mastodonHost") === undefined && get("mastodonHostSshKey") !== undefined) {
    problems.addHidden(
      "mastodonHostSshKey",
      "is set but mastodonHost is not; set mastodonHost too, or remove the key.",
    );
  }

  if (adopt?.dnsRecordId && zoneId === undefined) {
    problems.addHidden(
      "cloudflareZoneId",
      "is not set, but adopt names a Cloudflare DNS record; its import ID needs the zone ID: set cloudflareZoneId.",
    );
  }
  if (problems.entries.length > 0) return undefined;

  const e2Credentials = { accessKeyId: e2Key!, secretAccessKey: e2Secret! };
  const sharesKey = mastodonKey === undefined;
  // Keys known only as Outputs are compared when they resolve (plain ones were in parsePushMastodonEnv).
  const mastodonKeyId =
    pushMastodonEnv && mastodonKey && [get("mastodonAccessKeyId"), get("e2AccessKeyId")].some(isPending)
      ? pulumi.secret(
          checkedWhenResolved(problems, pulumi.all([mastodonKey, e2Key!]), (v, p) => {
            const [own, program] = v as [string, string];
            if (own === program) p.addHidden("mastodonAccessKeyId", SHARED_KEY_MESSAGE);
            return own;
          }),
        )
      : mastodonKey;
  return {
    domain: domain!,
    bucket: bucket!,
    mediaHost,
    instanceHost: instanceHost!,
    e2Endpoint: e2Endpoint!,
    e2Region: e2Region!,
    e2Credentials,
    mastodonCredentials: sharesKey
      ? e2Credentials
      : { accessKeyId: mastodonKeyId!, secretAccessKey: mastodonSecret! },
    mastodonSharesProgramKey: sharesKey,
    mastodonEnvExtra: mastodonEnvExtra ?? {},
    cloudflare: {
      zoneId: zoneId as string | undefined,
      dnsRecord: dnsRecord!,
      originCertificate: { keyType: keyType!, validityDays: validityDays, generation: generation! },
      authenticatedOriginPulls: authenticatedOriginPulls!,
      edgeRules: edgeRules!,
      legacyMediaRedirect: legacyMediaRedirect!,
      holdMediaDns: holdMediaDns!,
    },
    cnameWaitSeconds: cnameWaitSeconds!,
    verify: { enabled: verifyEnabled!, timeoutSeconds: verifyTimeoutSeconds! },
    adopt: adopt ?? { bucket: false },
    mastodonHost,
    pushMastodonEnv,
  };
}

/** A program's arguments → Settings; throws an InputPropertiesError naming every bad argument. */
export function settingsFromArgs(args: MastodonMediaStorageArgs): Settings {
  const problems = new Problems("args");
  const settings = normalizeArgs(args, problems);
  problems.throwIfAny();
  return settings!;
}
