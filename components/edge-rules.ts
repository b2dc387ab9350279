// The Cloudflare rules for the media host, one entry-point ruleset per phase. Pure data and checks, no Pulumi
// resources: CloudflareMediaHost turns each EdgeRuleset into one cloudflare.Ruleset.
//
// Every rule starts with `(http.host eq "<media host>")` and adds conditions only with `and`, so no rule can act
// on the instance's own site or on any other host of the zone. Phase, action and field names use the Cloudflare
// API spellings (the generated SDK docs print some of them mangled, e.g. `http*config*settings`).
// Only settings available on every plan are used; which shapes Cloudflare really accepts on the operator's plan is
// something only a live run can show.
import type * as cfInputs from "@pulumi/cloudflare/types/input";

export type RulesetPhase =
  | "http_config_settings"
  | "http_request_cache_settings"
  | "http_response_headers_transform"
  | "http_request_firewall_custom";

/** Which rule groups to manage; a group that is off gets no ruleset at all. */
export interface EdgeRuleSwitches {
  /** SSL/TLS Full (strict) for the media host. */
  ssl: boolean;
  /** Cache eligibility, origin TTLs respected, query string ignored in the cache key. */
  cache: boolean;
  /** CORS header set, e2's `x-amz-*` response headers removed. */
  headers: boolean;
  /** Only GET, HEAD and OPTIONS reach e2. */
  methods: boolean;
}

export type EdgeRuleGroup = keyof EdgeRuleSwitches;

/** The zone entry-point phase each rule group lives in. */
export const PHASE_OF_GROUP: Readonly<Record<EdgeRuleGroup, RulesetPhase>> = {
  ssl: "http_config_settings",
  cache: "http_request_cache_settings",
  headers: "http_response_headers_transform",
  methods: "http_request_firewall_custom",
};

export const EDGE_RULE_GROUPS = Object.keys(PHASE_OF_GROUP) as readonly EdgeRuleGroup[];
export const RULESET_PHASES = Object.values(PHASE_OF_GROUP) as readonly RulesetPhase[];

export function groupOfPhase(phase: RulesetPhase): EdgeRuleGroup {
  return EDGE_RULE_GROUPS.find((g) => PHASE_OF_GROUP[g] === phase)!;
}

/**
 * Response headers e2 (an S3 implementation) may send that readers have no use for. Cloudflare removes headers
 * by exact name only, so this is a list of the names S3 documents; `x-amz-meta-*` (user metadata, any suffix)
 * cannot be matched and passes through. Mastodon sets no user metadata on its uploads.
 */
export const REMOVED_RESPONSE_HEADERS: readonly string[] = [
  "x-amz-request-id",
  "x-amz-id-2",
  "x-amzn-requestid",
  "x-amz-version-id",
  "x-amz-delete-marker",
  "x-amz-server-side-encryption",
  "x-amz-meta-server-side-encryption",
  "x-amz-storage-class",
  "x-amz-expiration",
  "x-amz-restore",
  "x-amz-bucket-region",
  "x-amz-replication-status",
  "x-amz-website-redirect-location",
  "x-amz-mp-parts-count",
  "x-amz-tagging-count",
  "x-amz-object-lock-mode",
  "x-amz-object-lock-retain-until-date",
  "x-amz-object-lock-legal-hold",
  "x-amz-checksum-crc32",
  "x-amz-checksum-crc32c",
  "x-amz-checksum-crc64nvme",
  "x-amz-checksum-sha1",
  "x-amz-checksum-sha256",
  "x-amz-checksum-type",
];

/** Methods that reach e2 through the media host; Mastodon's readers only ever GET, HEAD or preflight. */
export const ALLOWED_METHODS: readonly string[] = ["GET", "HEAD", "OPTIONS"];

/** One rule, in the shape the provider's `Ruleset.rules` takes. */
export interface EdgeRule extends cfInputs.RulesetRule {
  action: string;
  expression: string;
  description: string;
  enabled: true;
  /** Absent for actions that take none (block). */
  actionParameters?: cfInputs.RulesetRuleActionParameters;
}

/** The rules of one phase's entry-point ruleset. */
export interface EdgeRuleset {
  group: EdgeRuleGroup;
  phase: RulesetPhase;
  /** What the ruleset is for, shown in the dashboard. */
  description: string;
  rules: EdgeRule[];
}

// A lowercase DNS name of at least two labels. Also keeps quotes and spaces out of rule expressions.
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);

export function isHostName(value: unknown): value is string {
  return typeof value === "string" && HOST_NAME.test(value);
}

/** The condition every rule starts with: exactly the media host, nothing else. */
export function hostCondition(mediaHost: string): string {
  if (!isHostName(mediaHost)) throw new Error(`not a lowercase host name: ${JSON.stringify(mediaHost)}`);
  return `(http.host eq "${mediaHost}")`;
}

/**
 * The name our entry-point rulesets carry. It marks a ruleset as this media host's, so that a later run can tell
 * its own ruleset from one somebody else made (see entryPointProblems).
 */
export function rulesetName(mediaHost: string): string {
  return `mastodon-media ${mediaHost}`;
}

/** The rulesets for the media host, one per switched-on group, in phase order. */
export function edgeRulesets(mediaHost: string, switches: EdgeRuleSwitches): EdgeRuleset[] {
  const host = hostCondition(mediaHost);
  const all: EdgeRuleset[] = [
    {
      group: "ssl",
      phase: PHASE_OF_GROUP.ssl,
      description: `mastodon-media: TLS settings for ${mediaHost}`,
      rules: [
        {
          description: `Full (strict): verify e2's origin certificate for ${mediaHost}`,
          expression: host,
          action: "set_config",
          actionParameters: { ssl: "strict" },
          enabled: true,
        },
      ],
    },
    {
      group: "cache",
      phase: PHASE_OF_GROUP.cache,
      description: `mastodon-media: caching for ${mediaHost}`,
      rules: [
        {
          // Mastodon uploads with a one-year immutable Cache-Control: respecting it keeps files at the edge.
          // Media URLs carry no meaningful query string; ignoring it stops cache-busting requests reaching e2.
          description: `Cache media from ${mediaHost}: origin TTLs, query string ignored`,
          expression: host,
          action: "set_cache_settings",
          actionParameters: {
            cache: true,
            edgeTtl: { mode: "respect_origin" },
            browserTtl: { mode: "respect_origin" },
            cacheKey: { customKey: { queryString: { exclude: { all: true } } } },
          },
          enabled: true,
        },
      ],
    },
    {
      group: "headers",
      phase: PHASE_OF_GROUP.headers,
      description: `mastodon-media: response headers for ${mediaHost}`,
      rules: [
        {
          // Mastodon's web client loads media cross-origin; without CORS audio breaks and images fail on reload.
          description: `CORS for ${mediaHost}; drop e2's x-amz-* headers`,
          expression: host,
          action: "rewrite",
          actionParameters: {
            headers: {
              "Access-Control-Allow-Origin": { operation: "set", value: "*" },
              ...Object.fromEntries(REMOVED_RESPONSE_HEADERS.map((h) => [h, { operation: "remove" }])),
            },
          },
          enabled: true,
        },
      ],
    },
    {
      group: "methods",
      phase: PHASE_OF_GROUP.methods,
      description: `mastodon-media: request methods for ${mediaHost}`,
      rules: [
        {
          description: `Only ${ALLOWED_METHODS.join(", ")} reach e2 through ${mediaHost}`,
          expression: `${host} and not (http.request.method in {${ALLOWED_METHODS.map((m) => `"${m}"`).join(" ")}})`,
          action: "block",
          enabled: true,
        },
      ],
    },
  ];
  return all.filter((r) => switches[r.group]);
}

/** A zone ruleset as `cloudflare.getRulesets` lists it (rules are not included in the listing). */
export interface ListedRuleset {
  id: string;
  kind: string;
  phase: string;
  name: string;
  description?: string;
}

/**
 * Why creating or adopting our entry-point rulesets would be wrong, one message per phase; empty when all is well.
 *
 * A zone has one entry-point ruleset (kind `zone`) per phase, and managing it replaces all its rules. Depending
 * on the provider build, creating a second one either fails or silently takes over the existing one and drops its
 * rules. So an existing entry point for a phase we manage must be ours (carries our name) or be adopted by ID.
 */
export function entryPointProblems(
  listed: readonly ListedRuleset[],
  phases: readonly RulesetPhase[],
  adopt: Partial<Record<RulesetPhase, string>>,
  ourName: string,
): string[] {
  const problems: string[] = [];
  for (const phase of phases) {
    const group = groupOfPhase(phase);
    const existing = listed.find((r) => r.kind === "zone" && r.phase === phase);
    const adopted = adopt[phase];
    if (adopted !== undefined) {
      if (existing === undefined) {
        problems.push(
          `adopt.rulesets.${phase} is ${adopted}, but the zone has no entry-point ruleset for ${phase}: ` +
            `remove adopt.rulesets.${phase} and the ruleset will be created.`,
        );
      } else if (existing.id !== adopted) {
        problems.push(
          `adopt.rulesets.${phase} is ${adopted}, but the zone's entry-point ruleset for ${phase} is ` +
            `${existing.id} ("${existing.name}").`,
        );
      }
    } else if (existing !== undefined && existing.name !== ourName) {
      problems.push(
        `The zone already has an entry-point ruleset for ${phase} ("${existing.name}", ID ${existing.id}) that this ` +
          `stack does not manage, and a zone can have only one. Managing it would replace all of its rules. ` +
          `Either remove "${group}" from edgeRules and add the rule by hand, or adopt it with ` +
          `adopt.rulesets.${phase} = "${existing.id}" (its current rules will then be replaced by ours).`,
      );
    }
  }
  return problems;
}
