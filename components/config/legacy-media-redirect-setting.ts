// The instanceHost and legacyMediaRedirect keys: which host served Mastodon's media under /system/ before the
// bucket, and whether the program owns the Cloudflare rule that redirects those old URLs
// (components/legacy-media-redirect.ts).
import { isInZone } from "../legacy-media-redirect";
import { DEFAULTS } from "./keys";
import type { Problems } from "./problems";
import { isDnsName, parseBoolean } from "./values";

/**
 * Mastodon's own host (its WEB_DOMAIN, or LOCAL_DOMAIN when that is unset): usually the zone apex `domain`, the
 * default. Anything Mastodon may be served from, in the zone or not; not the media host.
 */
export function parseInstanceHost(
  value: unknown,
  domain: string | undefined,
  mediaHost: string,
  problems: Problems,
): string | undefined {
  if (value === undefined) return domain;
  const host = typeof value === "string" ? value.toLowerCase().replace(/\.$/, "") : "";
  if (!isDnsName(host))
    return problems.add(
      "instanceHost",
      value,
      "the host name Mastodon is served from (its WEB_DOMAIN, else LOCAL_DOMAIN), e.g. example.social; no scheme, no path",
    );
  if (host === mediaHost)
    return problems.add(
      "instanceHost",
      value,
      `Mastodon's own host, not the media host ${mediaHost} (old /system/ URLs are redirected from the instance host to the media host)`,
    );
  return host;
}

/** legacyMediaRedirect: only for an instance host inside the zone, where the zone's rules see its requests. */
export function parseLegacyMediaRedirect(
  value: unknown,
  instanceHost: string | undefined,
  domain: string | undefined,
  problems: Problems,
): boolean | undefined {
  const on = parseBoolean("legacyMediaRedirect", value, DEFAULTS.legacyMediaRedirect, problems);
  if (on && instanceHost && domain && !isInZone(instanceHost, domain)) {
    problems.addHidden(
      "legacyMediaRedirect",
      `is true, but instanceHost ${instanceHost} is not in the Cloudflare zone ${domain}, so a rule of this zone never sees its requests: set legacyMediaRedirect false and put the nginx redirect on the instance's server (README: Old /system/ URLs after leaving local storage).`,
    );
  }
  return on;
}
