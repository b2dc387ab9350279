// The holdMediaDns key: keep the media host's DNS where it is (an old bucket still serving files.<domain>) until
// the media is copied and verified. What a hold rules out is refused here, before anything is created.
import { DEFAULTS } from "./keys";
import type { Problems } from "./problems";
import { parseBoolean } from "./values";

/**
 * While true the program creates, updates and adopts no DNS record for the media host, so readers keep reaching
 * the old storage; the push to Mastodon is refused (it would switch Mastodon to a host that still serves the old
 * bucket). `get` reads a raw config value; `adoptsRecord`: whether `adopt` names a DNS record.
 */
export function parseHoldMediaDns(
  get: (key: string) => unknown,
  adoptsRecord: boolean,
  problems: Problems,
): boolean | undefined {
  const hold = parseBoolean("holdMediaDns", get("holdMediaDns"), DEFAULTS.holdMediaDns, problems);
  if (hold !== true) return hold;
  if (get("pushMastodonEnv") === "true" || get("pushMastodonEnv") === true) {
    problems.addHidden(
      "pushMastodonEnv",
      "is true, but holdMediaDns is true: Mastodon would be switched while the media host still points at the old storage. Copy and verify first, then set holdMediaDns false in the same change as pushMastodonEnv true (README: Holding the media host's DNS).",
    );
  }
  if (adoptsRecord) {
    problems.addHidden(
      "adopt.dnsRecordId",
      "is set, but holdMediaDns is true: a held record is neither created nor adopted. Adopt it in the change that sets holdMediaDns false.",
    );
  }
  return hold;
}
