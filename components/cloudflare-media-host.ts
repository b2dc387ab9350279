// Cloudflare in front of the media host: a proxied CNAME to e2, an Origin CA certificate for e2's custom domain,
// optional zone-level Authenticated Origin Pulls, and one rule of ours per concern in the zone's entry point for its
// phase, beside the operator's own rules (edge-rules.ts, providers/cloudflare-rule.ts). Optionally one more rule, the
// redirect of old local-storage URLs (legacy-media-redirect.ts), and a hold that leaves the media host's DNS
// record unmanaged while an old bucket still serves that name. Maintainer notes: docs/cloudflare.md.
import * as pulumi from "@pulumi/pulumi";
// Submodule imports: loading and type-checking whole provider SDKs costs seconds on every cold `pulumi up`.
import { AuthenticatedOriginPullsSettings } from "@pulumi/cloudflare/authenticatedOriginPullsSettings";
import { DnsRecord } from "@pulumi/cloudflare/dnsRecord";
import { getZoneOutput } from "@pulumi/cloudflare/getZone";
import { OriginCaCertificate } from "@pulumi/cloudflare/originCaCertificate";
import { CertRequest } from "@pulumi/tls/certRequest";
import { PrivateKey } from "@pulumi/tls/privateKey";
import {
  EDGE_RULE_GROUPS,
  edgeRules,
  isHostName,
  ruleResourceArgs,
  type EdgeRuleGroup,
  type EdgeRuleSwitches,
} from "./edge-rules";
import { ORIGIN_CERT_VALIDITY_DAYS } from "./config";
import { isInZone, legacyMediaRedirectRule } from "./legacy-media-redirect";
import { CloudflareRule } from "../providers/cloudflare-rule";

export type { EdgeRuleSwitches, RulesetPhase } from "./edge-rules";
export { PHASE_OF_GROUP } from "./edge-rules";

/** Validities Cloudflare's Origin CA accepts, in days (defined with the config that offers them). */
export { ORIGIN_CERT_VALIDITY_DAYS };

export interface OriginCertificateArgs {
  /** Key algorithm: `rsa` (RSA 2048, request type `origin-rsa`) or `ecc` (ECDSA P-256, `origin-ecc`). */
  keyType: "rsa" | "ecc";
  /** Certificate lifetime in days; one of 7, 30, 90, 365, 730, 1095, 5475. */
  validityDays: number;
  /**
   * Integer ≥ 1. Raising it creates a new key, CSR and certificate before the old ones are deleted (rotation);
   * the old certificate is revoked only after the whole deployment succeeded.
   */
  generation: number;
}

export interface CloudflareMediaHostArgs {
  /** Zone apex, e.g. `example.social`. Lowercase. */
  domain: string;
  /** The media host, `<bucket>.<domain>`: exactly one label under `domain` (the certificate is `*.<domain>`). */
  mediaHost: string;
  /**
   * The stack's name. Part of each rule's `ref`, so that two stacks (instances, or staging and production) in one
   * zone never take each other's rules.
   */
  stack: string;
  /**
   * The zone's ID (32 lowercase hex characters). Default: looked up by `domain`. Required when adopting the DNS
   * record, because its import ID contains it.
   */
  zoneId?: string;
  /** The e2 endpoint host name the CNAME points at; no scheme, no port. */
  originHost: pulumi.Input<string>;
  /** `host`: a record for `mediaHost` only. `wildcard`: `*.<domain>`, as the manual guide did. */
  dnsRecord: "host" | "wildcard";
  /** The Origin CA certificate e2 presents for `*.<domain>`. */
  originCertificate: OriginCertificateArgs;
  /**
   * Turn zone-level Authenticated Origin Pulls on (the manual guide's setting). e2 cannot check Cloudflare's client
   * certificate, so this protects nothing for the media host, and the setting reaches every origin of the zone.
   * When false (the config default) the zone setting is neither registered nor touched.
   */
  authenticatedOriginPulls: boolean;
  /** Which rule groups to manage; each one is a single rule in the zone's entry point for its phase. */
  edgeRules: EdgeRuleSwitches;
  /**
   * When set, one more rule of ours, in the zone's `http_request_dynamic_redirect` entry point: a 301 from
   * `https://<instanceHost>/system/<key>` to `https://<mediaHost>/<key>` (old URLs of media Mastodon kept on local
   * storage; components/legacy-media-redirect.ts). `instanceHost` is Mastodon's own host, `domain` or a name under
   * it, proxied through Cloudflare. Default: no redirect rule.
   */
  legacyMediaRedirect?: { instanceHost: string };
  /**
   * True: register no DNS record for the media host (none created, updated or adopted), so its name keeps pointing
   * wherever it points now (an old bucket that serves it until the media is copied). The certificate and rules are
   * made as usual. Default false.
   */
  holdDnsRecord?: boolean;
  /** Existing resources to import instead of creating. Default: none. */
  adopt?: {
    /** ID of the existing DNS record (32 hex) to import; its name must match `dnsRecord`'s choice. */
    dnsRecordId?: string;
  };
}

const ZONE_OBJECT_ID = /^[0-9a-f]{32}$/;
const TYPE = "mastodon-media:cloudflare:MediaHost";

/** Throws an InputPropertiesError naming every bad argument; registers nothing. */
export function validateCloudflareMediaHostArgs(args: CloudflareMediaHostArgs): void {
  const errors: pulumi.InputPropertyErrorDetails[] = [];
  const bad = (propertyPath: string, reason: string) => errors.push({ propertyPath, reason });
  const show = (v: unknown) => JSON.stringify(v) ?? String(v);

  if (typeof args.stack !== "string" || args.stack === "")
    bad("stack", `must be the stack's name, got ${show(args.stack)}`);
  if (!isHostName(args.domain))
    bad("domain", `must be a lowercase DNS name like example.social, got ${show(args.domain)}`);
  if (!isHostName(args.mediaHost)) {
    bad("mediaHost", `must be a lowercase DNS name, got ${show(args.mediaHost)}`);
  } else if (isHostName(args.domain)) {
    const label = args.mediaHost.slice(0, -(args.domain.length + 1));
    if (!args.mediaHost.endsWith(`.${args.domain}`) || label.includes(".")) {
      bad(
        "mediaHost",
        `must be exactly one label under ${args.domain} (covered by *.${args.domain}), got ${show(args.mediaHost)}`,
      );
    }
  }
  if (args.zoneId !== undefined && !(typeof args.zoneId === "string" && ZONE_OBJECT_ID.test(args.zoneId))) {
    bad("zoneId", `must be 32 lowercase hexadecimal characters, got ${show(args.zoneId)}`);
  }
  if (typeof args.originHost === "string" && !isHostName(args.originHost)) {
    bad("originHost", `must be a host name without scheme or port, got ${show(args.originHost)}`);
  }
  if (args.dnsRecord !== "host" && args.dnsRecord !== "wildcard") {
    bad("dnsRecord", `must be "host" or "wildcard", got ${show(args.dnsRecord)}`);
  }

  const cert = args.originCertificate;
  if (typeof cert !== "object" || cert === null) {
    bad("originCertificate", `must be an object { keyType, validityDays, generation }, got ${show(cert)}`);
  } else {
    if (cert.keyType !== "rsa" && cert.keyType !== "ecc") {
      bad("originCertificate.keyType", `must be "rsa" or "ecc", got ${show(cert.keyType)}`);
    }
    if (!ORIGIN_CERT_VALIDITY_DAYS.includes(cert.validityDays)) {
      bad(
        "originCertificate.validityDays",
        `must be one of ${ORIGIN_CERT_VALIDITY_DAYS.join(", ")} (days), got ${show(cert.validityDays)}`,
      );
    }
    if (!Number.isInteger(cert.generation) || cert.generation < 1) {
      bad("originCertificate.generation", `must be an integer of at least 1, got ${show(cert.generation)}`);
    }
  }
  if (typeof args.authenticatedOriginPulls !== "boolean") {
    bad("authenticatedOriginPulls", `must be true or false, got ${show(args.authenticatedOriginPulls)}`);
  }

  const rules = args.edgeRules;
  if (typeof rules !== "object" || rules === null) {
    bad("edgeRules", `must be an object with boolean ${EDGE_RULE_GROUPS.join(", ")}, got ${show(rules)}`);
  } else {
    for (const key of Object.keys(rules)) {
      if (!(EDGE_RULE_GROUPS as readonly string[]).includes(key)) {
        bad(`edgeRules.${key}`, `unknown rule group; the groups are ${EDGE_RULE_GROUPS.join(", ")}`);
      }
    }
    for (const group of EDGE_RULE_GROUPS) {
      if (typeof rules[group] !== "boolean")
        bad(`edgeRules.${group}`, `must be true or false, got ${show(rules[group])}`);
    }
  }

  const redirect = args.legacyMediaRedirect;
  if (redirect !== undefined) {
    const host = redirect?.instanceHost;
    if (!isHostName(host)) {
      bad("legacyMediaRedirect.instanceHost", `must be a lowercase DNS name, got ${show(host)}`);
    } else if (isHostName(args.domain) && !isInZone(host, args.domain)) {
      bad(
        "legacyMediaRedirect.instanceHost",
        `must be ${args.domain} or a name under it (the zone's rules see only its hosts), got ${show(host)}`,
      );
    } else if (host === args.mediaHost) {
      bad("legacyMediaRedirect.instanceHost", `must be Mastodon's own host, not the media host ${host}`);
    }
  }
  if (args.holdDnsRecord !== undefined && typeof args.holdDnsRecord !== "boolean") {
    bad("holdDnsRecord", `must be true or false, got ${show(args.holdDnsRecord)}`);
  }
  if (args.holdDnsRecord === true && args.adopt?.dnsRecordId !== undefined) {
    bad(
      "adopt.dnsRecordId",
      "cannot be adopted while holdDnsRecord is true: a held record is not managed at all",
    );
  }

  const adopt = args.adopt ?? {};
  for (const field of Object.keys(adopt)) {
    if (field !== "dnsRecordId") bad(`adopt.${field}`, "unknown; only dnsRecordId can be adopted here");
  }
  if (adopt.dnsRecordId !== undefined && args.zoneId === undefined) {
    bad("zoneId", "is required when adopting the DNS record: its import ID contains the zone ID");
  }
  if (
    adopt.dnsRecordId !== undefined &&
    !(typeof adopt.dnsRecordId === "string" && ZONE_OBJECT_ID.test(adopt.dnsRecordId))
  ) {
    bad(
      "adopt.dnsRecordId",
      `must be the record's ID, 32 lowercase hexadecimal characters, got ${show(adopt.dnsRecordId)}`,
    );
  }

  if (errors.length > 0) {
    throw new pulumi.InputPropertiesError({
      message: `Invalid CloudflareMediaHost arguments: ${errors.map((e) => `${e.propertyPath} ${e.reason}`).join("; ")}`,
      errors,
    });
  }
}

/** The media host behind Cloudflare: DNS, origin certificate, optional origin pulls and per-host edge rules. */
export class CloudflareMediaHost extends pulumi.ComponentResource {
  readonly zoneId: pulumi.Output<string>;
  /** Name of the CNAME record: the media host, or `*.<domain>` (held or not). */
  readonly dnsRecordName: pulumi.Output<string>;
  /** Absent while `holdDnsRecord` is true. */
  readonly dnsRecord?: DnsRecord;
  /** The origin key; its private parts are secret outputs. */
  readonly originKey: PrivateKey;
  readonly originCertificateRequest: CertRequest;
  /** Depend on this to act only once the current certificate exists. */
  readonly originCertificate: OriginCaCertificate;
  readonly originCertificatePem: pulumi.Output<string>;
  /** Secret. */
  readonly originPrivateKeyPem: pulumi.Output<string>;
  readonly originCertificateExpiresOn: pulumi.Output<string>;
  /** The domain to register as a CNAME in e2's console: `*.<domain>`. */
  readonly cnameDomain: string;
  /** The zone setting; absent when `authenticatedOriginPulls` is false. */
  readonly authenticatedOriginPulls?: AuthenticatedOriginPullsSettings;
  /** One rule per switched-on rule group, each in the zone's entry point for its phase. */
  readonly rules: Partial<Record<EdgeRuleGroup, CloudflareRule>>;
  /** The redirect of old `/system/` URLs; absent unless `legacyMediaRedirect` is set. */
  readonly legacyMediaRedirectRule?: CloudflareRule;

  constructor(name: string, args: CloudflareMediaHostArgs, opts?: pulumi.ComponentResourceOptions) {
    validateCloudflareMediaHostArgs(args);
    super(TYPE, name, {}, opts);

    const { domain, mediaHost } = args;
    const adopt = { dnsRecordId: args.adopt?.dnsRecordId };
    // Adoption requires a configured zone ID (validated above), so import IDs are plain strings.
    const zoneIdText = args.zoneId;
    this.zoneId =
      zoneIdText !== undefined
        ? pulumi.output(zoneIdText)
        : getZoneOutput({ filter: { name: domain } }, { parent: this }).apply((z) => z.id);
    this.cnameDomain = `*.${domain}`;

    const recordName = args.dnsRecord === "wildcard" ? this.cnameDomain : mediaHost;
    const originHost = pulumi.output(args.originHost).apply((host) => {
      if (!isHostName(host))
        throw new Error(
          `${name}: originHost must be a host name without scheme or port, got ${JSON.stringify(host)}`,
        );
      return host;
    });
    // Held: no record at all, so Pulumi neither creates nor changes one (and a record this stack made earlier
    // would be deleted: the hold is meant for before the first switch, see the README).
    if (!args.holdDnsRecord) {
      this.dnsRecord = new DnsRecord(
        `${name}-record`,
        { zoneId: this.zoneId, name: recordName, type: "CNAME", content: originHost, proxied: true, ttl: 1 },
        {
          parent: this,
          import: adopt.dnsRecordId !== undefined ? `${zoneIdText}/${adopt.dnsRecordId}` : undefined,
        },
      );
    }
    this.dnsRecordName = pulumi.output(recordName);

    // Rotation: a new generation replaces key, CSR and certificate. Replacement is create-before-delete (Pulumi's
    // default, so never deleteBeforeReplace here): the old certificate stays valid until the deployment is done.
    const rotation = { replacementTrigger: args.originCertificate.generation };
    const rsa = args.originCertificate.keyType === "rsa";
    this.originKey = new PrivateKey(
      `${name}-origin-key`,
      rsa ? { algorithm: "RSA", rsaBits: 2048 } : { algorithm: "ECDSA", ecdsaCurve: "P256" },
      {
        parent: this,
        ...rotation,
        additionalSecretOutputs: ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"],
      },
    );
    const hostnames = [domain, this.cnameDomain];
    this.originCertificateRequest = new CertRequest(
      `${name}-origin-csr`,
      { privateKeyPem: this.originKey.privateKeyPem, subject: { commonName: domain }, dnsNames: hostnames },
      { parent: this, ...rotation, additionalSecretOutputs: ["privateKeyPem"] },
    );
    this.originCertificate = new OriginCaCertificate(
      `${name}-origin-cert`,
      {
        csr: this.originCertificateRequest.certRequestPem,
        hostnames,
        requestType: rsa ? "origin-rsa" : "origin-ecc",
        requestedValidity: args.originCertificate.validityDays,
      },
      {
        parent: this,
        ...rotation,
        // Cloudflare answers a refresh with the hostnames in its own order and a drifting validity, and both
        // force replacement (terraform-provider-cloudflare#6239, #5725): ignored, so a refresh never re-issues the
        // certificate. Rotation is the generation's replacementTrigger above. The old values are kept only for the
        // diff: once the engine decides to replace, it re-checks the program's own inputs (step_generator.go,
        // "recompute the default values"), so the new certificate gets the configured hostnames and validity.
        ignoreChanges: ["hostnames", "requestedValidity"],
      },
    );
    this.originCertificatePem = this.originCertificate.certificate;
    this.originPrivateKeyPem = pulumi.secret(this.originKey.privateKeyPem);
    this.originCertificateExpiresOn = this.originCertificate.expiresOn;

    if (args.authenticatedOriginPulls) {
      // Retained on delete: turning zone-wide AOP off could break the instance's own origin if it checks it.
      this.authenticatedOriginPulls = new AuthenticatedOriginPullsSettings(
        `${name}-aop`,
        { zoneId: this.zoneId, enabled: true },
        { parent: this, retainOnDelete: true },
      );
    }

    // One rule per concern, each owned by its ref inside the phase's entry point; the operator's rules there
    // are never touched. The API token is read by the provider at run time, never passed here.
    this.rules = {};
    for (const rule of edgeRules(args.stack, mediaHost, args.edgeRules)) {
      this.rules[rule.group] = new CloudflareRule(
        `${name}-rule-${rule.group}`,
        ruleResourceArgs(this.zoneId, rule),
        { parent: this },
      );
    }

    if (args.legacyMediaRedirect) {
      this.legacyMediaRedirectRule = new CloudflareRule(
        `${name}-rule-legacy-media-redirect`,
        ruleResourceArgs(
          this.zoneId,
          legacyMediaRedirectRule(args.stack, args.legacyMediaRedirect.instanceHost, mediaHost),
        ),
        { parent: this },
      );
    }

    this.registerOutputs({
      zoneId: this.zoneId,
      dnsRecordName: this.dnsRecordName,
      originCertificatePem: this.originCertificatePem,
      originPrivateKeyPem: this.originPrivateKeyPem,
      originCertificateExpiresOn: this.originCertificateExpiresOn,
      cnameDomain: this.cnameDomain,
    });
  }
}
