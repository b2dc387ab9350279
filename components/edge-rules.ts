// The Cloudflare rules for the media host, one rule per concern. Pure data and checks, no Pulumi resources:
// CloudflareMediaHost turns each EdgeRule into one CloudflareRule (providers/cloudflare-rule.ts), which places it
// in the zone's entry-point ruleset for its phase beside whatever rules the operator has there.
//
// Every rule starts with `(http.host eq "<media host>")` and adds conditions only with `and`, so no rule can act
// on the instance's own site or on any other host of the zone. Phase, action and field names are the Cloudflare
// API spellings (the rules are sent through the API as they are written here). Only settings and functions
// available on every plan are used; which shapes Cloudflare really accepts on the operator's plan is something
// only a live run can show.
import { createHash } from "node:crypto";
import { PROBE_PREFIX, PUBLIC_MEDIA_PREFIXES } from "./media-paths";

export type RulesetPhase =
  | "http_config_settings"
  | "http_request_cache_settings"
  | "http_response_headers_transform"
  | "http_request_firewall_custom";

/** Which rule groups to manage; a group that is off gets no rule at all. */
export interface EdgeRuleSwitches {
  /** SSL/TLS Full (strict) for the media host. */
  ssl: boolean;
  /** Cache eligibility, origin TTLs respected, query string ignored in the cache key. */
  cache: boolean;
  /** CORS header set, e2's `x-amz-*` response headers removed. */
  headers: boolean;
  /** Only GET, HEAD and OPTIONS, and only for Mastodon's public media paths, reach e2. */
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

/** URL paths the media host serves: Mastodon's public media prefixes and the media check's probe prefix. */
export const ALLOWED_PATH_PREFIXES: readonly string[] = [...PUBLIC_MEDIA_PREFIXES, PROBE_PREFIX].map(
  (p) => `/${p}`,
);

/** One rule of ours, as the Cloudflare rules API takes it (plus the entry-point phase it belongs in). */
export interface OwnedRule {
  /** The zone entry-point phase, API spelling. */
  phase: string;
  /**
   * Our identity for the rule inside the entry point, kept by Cloudflare across edits: built from the stack, the
   * host and the rule's name, so another stack's rule for the same zone never collides with ours.
   */
  ref: string;
  description: string;
  expression: string;
  action: string;
  /** Absent for actions that take none (block). */
  action_parameters?: Record<string, unknown>;
  enabled: true;
}

/** One media-host rule of a rule group. */
export interface EdgeRule extends OwnedRule {
  group: EdgeRuleGroup;
  phase: RulesetPhase;
}

// A lowercase DNS name of at least two labels. Also keeps quotes and spaces out of rule expressions.
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${LABEL}(?:\\.${LABEL})+$`);
// A path prefix: lowercase segments of letters, digits, `_` and `-`, each followed by "/". Nothing to escape.
const PATH_PREFIX = /^\/(?:[a-z0-9_-]+\/)+$/;

export function isHostName(value: unknown): value is string {
  return typeof value === "string" && HOST_NAME.test(value);
}

/** The condition every rule starts with: exactly the media host, nothing else. */
export function hostCondition(mediaHost: string): string {
  if (!isHostName(mediaHost)) throw new Error(`not a lowercase host name: ${JSON.stringify(mediaHost)}`);
  return `(http.host eq "${mediaHost}")`;
}

/** True for the paths readers may fetch: one of `prefixes`, tested with `starts_with` (available on every plan). */
export function pathAllowedCondition(prefixes: readonly string[]): string {
  for (const p of prefixes) {
    if (!PATH_PREFIX.test(p)) throw new Error(`not a plain path prefix: ${JSON.stringify(p)}`);
  }
  if (prefixes.length === 0) throw new Error("no allowed path prefixes");
  return `(${prefixes.map((p) => `starts_with(http.request.uri.path, "${p}")`).join(" or ")})`;
}

/**
 * The rule's `ref`: stable for one stack, media host and group, and the same on every run, so a run that
 * stopped half-way finds its rule again instead of adding a second one. Hashed so that it is short and uses only
 * characters any ref accepts; the description says in words whose rule it is.
 */
export function edgeRuleRef(stack: string, mediaHost: string, group: EdgeRuleGroup): string {
  return ownedRuleRef(stack, mediaHost, group);
}

/** `mastodon_media_<name>_<20 hex of sha256(stack, host)>`: the ref scheme every rule of ours uses. */
export function ownedRuleRef(stack: string, host: string, name: string): string {
  const digest = createHash("sha256").update(`${stack}\n${host}`).digest("hex").slice(0, 20);
  return `mastodon_media_${name}_${digest}`;
}

/** The rules for the media host, one per switched-on group, in phase order. */
export function edgeRules(stack: string, mediaHost: string, switches: EdgeRuleSwitches): EdgeRule[] {
  const host = hostCondition(mediaHost);
  const methods = `{${ALLOWED_METHODS.map((m) => `"${m}"`).join(" ")}}`;
  const owner = `mastodon-media (stack ${stack})`;
  const rule = (
    group: EdgeRuleGroup,
    r: Omit<EdgeRule, "group" | "phase" | "ref" | "enabled">,
  ): EdgeRule => ({
    group,
    phase: PHASE_OF_GROUP[group],
    ref: edgeRuleRef(stack, mediaHost, group),
    ...r,
    enabled: true,
  });
  const all: EdgeRule[] = [
    rule("ssl", {
      description: `${owner}: Full (strict), verify e2's origin certificate for ${mediaHost}`,
      expression: host,
      action: "set_config",
      action_parameters: { ssl: "strict" },
    }),
    // Mastodon uploads with a ten-year immutable Cache-Control: respecting it keeps files at the edge.
    // Media URLs carry no meaningful query string; ignoring it stops cache-busting requests reaching e2.
    rule("cache", {
      description: `${owner}: cache media from ${mediaHost}, origin TTLs, query string ignored`,
      expression: host,
      action: "set_cache_settings",
      action_parameters: {
        cache: true,
        edge_ttl: { mode: "respect_origin" },
        browser_ttl: { mode: "respect_origin" },
        cache_key: { custom_key: { query_string: { exclude: { all: true } } } },
      },
    }),
    // Mastodon's web client loads media cross-origin; without CORS audio breaks and images fail on reload.
    rule("headers", {
      description: `${owner}: CORS for ${mediaHost}; drop e2's x-amz-* headers`,
      expression: host,
      action: "rewrite",
      action_parameters: {
        headers: {
          "Access-Control-Allow-Origin": { operation: "set", value: "*" },
          ...Object.fromEntries(REMOVED_RESPONSE_HEADERS.map((h) => [h, { operation: "remove" }])),
        },
      },
    }),
    // As Mastodon's own Fastly module does: readers only ever GET public media. Everything else (writes, the
    // bucket listing at "/", users' archives under backups/, imports) is refused before it reaches e2.
    rule("methods", {
      description: `${owner}: only ${ALLOWED_METHODS.join(", ")} of public media paths reach e2 through ${mediaHost}`,
      expression:
        `${host} and (not (http.request.method in ${methods}) or ` +
        `not ${pathAllowedCondition(ALLOWED_PATH_PREFIXES)})`,
      action: "block",
    }),
  ];
  return all.filter((r) => switches[r.group]);
}

/** One rule as the arguments of its CloudflareRule resource in `zoneId` (camelCase; no parameters when none). */
export function ruleResourceArgs<Z>(zoneId: Z, rule: OwnedRule) {
  return {
    zoneId,
    phase: rule.phase,
    ref: rule.ref,
    description: rule.description,
    expression: rule.expression,
    action: rule.action,
    ...(rule.action_parameters ? { actionParameters: rule.action_parameters } : {}),
    enabled: rule.enabled,
  };
}
