// Old media URLs after leaving local storage. On local storage Mastodon serves each file at
// `https://<instance host>/system/<key>` (config/initializers/paperclip.rb, filesystem branch: url
// `/system/:prefix_url:class/:attachment/:id_partition/:style/:filename`); in the bucket the same key is served at
// `https://<media host>/<key>`. Other servers and old posts keep the old URLs, and other servers refetch media by
// them (mastodon/documentation#1627), so they must answer with a permanent redirect to the media host.
//
// Two ways, pure data here, no resources:
// - a Cloudflare Single Redirect rule (config `legacyMediaRedirect: true`), when the instance host is a proxied
//   host of the stack's zone: CloudflareMediaHost owns it through providers/cloudflare-rule.ts, by ref, beside the
//   operator's redirect rules;
// - otherwise the nginx equivalent, for the instance's own nginx (printed by the migrate tool's `plan`).
//
// Cloudflare facts used (developers.cloudflare.com; read in cloudflare/cloudflare-docs, November 2026):
// - rules/url-forwarding/single-redirects/create-api: redirect rules live in the zone entry point of phase
//   `http_request_dynamic_redirect`, action `redirect`;
// - rules/url-forwarding/single-redirects/settings: a dynamic redirect's `action_parameters` are
//   `from_value: { target_url: { expression }, status_code, preserve_query_string }` (query string off by default);
// - ruleset-engine/rules-language/functions (wildcard_replace): `wildcard_replace(source, pattern, replacement,
//   flags)`; `source` must be a field, the whole value must match, `*` matches lazily, `${1}`… refer to the
//   captures, flag "s" makes the match case-sensitive, and the function is allowed only in target URL expressions
//   of dynamic redirects (and URL rewrites). No plan restriction is stated for it, nor for `starts_with`;
// - rules/url-forwarding (Availability): Single Redirects exist on every plan, the number of rules per zone
//   depends on the plan (10 on Free at the time of writing, per the shared facts; the plan table itself could not
//   be read here). This is one rule. Whether the operator's zone accepts it is a first-live-run item.
//
// The query string is dropped (`preserve_query_string: false`, and the target is built from the path alone):
// Mastodon's keys carry no meaning in a query (local storage only added `?<timestamp>` cache busters), the media
// host's cache rule ignores the query anyway, and the redirect then never carries arbitrary request text to the
// media host. One redirect target per file.
import { isHostName, ownedRuleRef, type OwnedRule } from "./edge-rules";

/** Where local storage served media on the instance host (Mastodon's default PAPERCLIP_ROOT_URL). */
export const LEGACY_MEDIA_PATH_PREFIX = "/system/";
/** The zone entry-point phase of Single Redirects. */
export const REDIRECT_PHASE = "http_request_dynamic_redirect";
/** Permanent: the file has moved for good, and other servers should store the new URL. */
export const LEGACY_MEDIA_REDIRECT_STATUS = 301;

/** The redirect rule of `legacyMediaRedirect`: `https://<instanceHost>/system/<key>` → `https://<mediaHost>/<key>`. */
export function legacyMediaRedirectRule(stack: string, instanceHost: string, mediaHost: string): OwnedRule {
  for (const [name, host] of [
    ["instance host", instanceHost],
    ["media host", mediaHost],
  ]) {
    if (!isHostName(host)) throw new Error(`${name} is not a lowercase host name: ${JSON.stringify(host)}`);
  }
  if (instanceHost === mediaHost)
    throw new Error(`the instance host and the media host are both ${instanceHost}; a redirect would loop`);
  const prefix = LEGACY_MEDIA_PATH_PREFIX;
  return {
    phase: REDIRECT_PHASE,
    ref: ownedRuleRef(stack, instanceHost, "legacy_media_redirect"),
    description: `mastodon-media (stack ${stack}): old media URLs https://${instanceHost}${prefix}<key> → https://${mediaHost}/<key>`,
    // Exactly the instance host, only paths under /system/ with a key after it (case-sensitive, as Mastodon's
    // keys are): nothing else of the instance, or of any other host, is redirected.
    expression:
      `(http.host eq "${instanceHost}") and starts_with(http.request.uri.path, "${prefix}") and ` +
      `(http.request.uri.path ne "${prefix}")`,
    action: "redirect",
    action_parameters: {
      from_value: {
        status_code: LEGACY_MEDIA_REDIRECT_STATUS,
        target_url: {
          expression: `wildcard_replace(http.request.uri.path, "${prefix}*", "https://${mediaHost}/\${1}", "s")`,
        },
        preserve_query_string: false,
      },
    },
    enabled: true,
  };
}

/**
 * The nginx equivalent, for the `server` block of the instance host (Mastodon's own nginx.conf). Recent
 * dist/nginx.conf versions serve the files from a `location ^~ /system/` block, which must be replaced (nginx
 * refuses two locations with the same prefix); older ones (mastodon/mastodon dist/nginx.conf as stored at
 * 48caeb9, the only version read here) have none, and then `^~` makes this block win over their regex locations
 * for /system/. Same behaviour as the rule: 301, the key kept, the query string dropped (the trailing `?` stops
 * nginx appending the original arguments), `/system/` alone answered 404. mastodon/documentation#1627 gives the
 * same rewrite. Not run in a real nginx here.
 */
export function nginxLegacyMediaRedirect(instanceHost: string, mediaHost: string): string {
  for (const host of [instanceHost, mediaHost]) {
    if (!isHostName(host)) throw new Error(`not a lowercase host name: ${JSON.stringify(host)}`);
  }
  const prefix = LEGACY_MEDIA_PATH_PREFIX;
  return [
    `# mastodon-media: old media URLs https://${instanceHost}${prefix}<key> now live at https://${mediaHost}/<key>.`,
    `# In the server block for ${instanceHost}: replace its "location ^~ ${prefix} { ... }" block with this one if it`,
    "# has one (recent Mastodon nginx.conf does), else add it; then check and reload: nginx -t && systemctl reload nginx",
    `location ^~ ${prefix} {`,
    `  rewrite ^${prefix}(.+)$ https://${mediaHost}/$1? permanent;`,
    "  return 404;",
    "}",
    "",
  ].join("\n");
}

/** How old `/system/` URLs can be redirected for an instance host; `why` says why not by Cloudflare. */
export type LegacyRedirectWay = { by: "cloudflare" } | { by: "nginx"; why: string };

/**
 * Whether the Cloudflare rule can redirect old URLs of `instanceHost`, or the nginx snippet is needed. Cloudflare
 * rules see only requests to proxied ("orange cloud") hosts of the zone they belong to. `proxied`: whether the
 * instance host's DNS record in the zone is proxied; undefined when not known (then nginx, which always works).
 */
export function legacyRedirectWay(opts: {
  zone: string;
  instanceHost: string;
  proxied: boolean | undefined;
}): LegacyRedirectWay {
  const { zone, instanceHost, proxied } = opts;
  if (!isInZone(instanceHost, zone)) {
    return {
      by: "nginx",
      why: `${instanceHost} is not in the Cloudflare zone ${zone}, so the zone's rules never see its requests`,
    };
  }
  if (proxied === undefined) {
    return {
      by: "nginx",
      why: `it is not known whether ${instanceHost} is proxied through Cloudflare (orange cloud); if it is, legacyMediaRedirect: true does the same at the edge`,
    };
  }
  if (!proxied) {
    return {
      by: "nginx",
      why: `${instanceHost} is DNS only (grey cloud): its requests go to your server without passing Cloudflare's rules`,
    };
  }
  return { by: "cloudflare" };
}

/** Whether `host` is the zone apex or a name under it. */
export function isInZone(host: string, zone: string): boolean {
  return host === zone || host.endsWith(`.${zone}`);
}
