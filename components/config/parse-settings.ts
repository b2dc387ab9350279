// Raw stack config → validated Settings, in one pass that reports every problem at once.
import * as pulumi from "@pulumi/pulumi";
import { parseAdopt } from "./adopt";
import { parseBucket } from "./bucket-name";
import { parseEdgeRules } from "./edge-rules-setting";
import { parseEnvExtra } from "./env-extra";
import { parseHoldMediaDns } from "./hold-media-dns";
import {
  DEFAULTS,
  KNOWN_KEYS,
  MAX_TIMEOUT_SECONDS,
  MAX_WAIT_SECONDS,
  ORIGIN_CERT_VALIDITY_DAYS,
} from "./keys";
import { parseInstanceHost, parseLegacyMediaRedirect } from "./legacy-media-redirect-setting";
import { parseMastodonHost } from "./mastodon-host";
import { ConfigError, Problems } from "./problems";
import { parsePushMastodonEnv } from "./push-mastodon-env";
import { didYouMean } from "./suggest";
import type { Settings } from "./settings";
import type { RawConfig } from "./stack-config";
import {
  parseBoolean,
  parseChoice,
  parseDomain,
  parseEndpoint,
  parseInteger,
  parseRegion,
  ZONE_ID,
} from "./values";

/** Parses and validates raw stack config. Throws ConfigError listing every problem. */
export function parseSettings(raw: RawConfig): Settings {
  const problems = new Problems(raw.namespace);
  const get = (key: string): string | undefined => {
    const v = raw.values[key];
    return v === undefined || v === "" ? undefined : v;
  };

  for (const key of Object.keys(raw.values)) {
    if (!(KNOWN_KEYS as readonly string[]).includes(key)) {
      problems.addHidden(
        key,
        `is not a setting of this program${didYouMean(key, KNOWN_KEYS)}; known settings: ${KNOWN_KEYS.join(", ")}.`,
      );
    }
  }

  const domain = parseDomain(get("domain"), problems);
  const bucket = parseBucket(get("bucket"), domain, problems);
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

  const mastodonEnvExtra = parseEnvExtra(
    get("mastodonEnvExtra"),
    problems,
    raw.secretKeys.has("mastodonEnvExtra"),
  );
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
  const validityText = get("originCertificateValidityDays");
  const validityDays =
    validityText === undefined ? DEFAULTS.originCertificateValidityDays : Number(validityText);
  if (validityText !== undefined && !ORIGIN_CERT_VALIDITY_DAYS.map(String).includes(validityText)) {
    problems.add(
      "originCertificateValidityDays",
      validityText,
      `one of ${ORIGIN_CERT_VALIDITY_DAYS.join(", ")} (days; 5475 is 15 years, the longest Cloudflare issues)`,
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
  const instanceHost = parseInstanceHost(get("instanceHost"), domain, mediaHost, problems);
  const legacyMediaRedirect = parseLegacyMediaRedirect(
    get("legacyMediaRedirect"),
    instanceHost,
    domain,
    problems,
  );
  const holdMediaDns = parseHoldMediaDns(get, adopt?.dnsRecordId !== undefined, problems);
  const pushMastodonEnv = parsePushMastodonEnv(get, problems);
  const mastodonHost = parseMastodonHost(
    get("mastodonHost"),
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
  if (problems.list.length > 0) throw new ConfigError(problems.list);

  const e2Credentials = { accessKeyId: e2Key!, secretAccessKey: e2Secret! };
  const sharesKey = mastodonKey === undefined;
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
      : { accessKeyId: mastodonKey, secretAccessKey: mastodonSecret! },
    mastodonSharesProgramKey: sharesKey,
    mastodonEnvExtra: mastodonEnvExtra ?? {},
    cloudflare: {
      zoneId,
      dnsRecord: dnsRecord!,
      originCertificate: { keyType: keyType!, validityDays: validityDays!, generation: generation! },
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
