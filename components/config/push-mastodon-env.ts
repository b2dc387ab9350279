// The pushMastodonEnv switch and what a push requires: the media check on, and Mastodon's own key.
import { DEFAULTS } from "./keys";
import type { Problems } from "./problems";
import { parseBoolean } from "./values";

/**
 * Whether the env block is pushed to mastodonHost. Off by default: a push restarts a live Mastodon with new
 * storage settings, so it is asked for explicitly. `get` reads a raw config value (undefined when unset).
 */
export function parsePushMastodonEnv(get: (key: string) => string | undefined, problems: Problems): boolean {
  const push = parseBoolean("pushMastodonEnv", get("pushMastodonEnv"), DEFAULTS.pushMastodonEnv, problems);
  if (push !== true) return false;
  if (get("mastodonHost") === undefined) {
    problems.addHidden(
      "pushMastodonEnv",
      "is true, but mastodonHost is not set; set mastodonHost (where to push), or set pushMastodonEnv false.",
    );
  }
  if (get("verify") === "false") {
    problems.addHidden(
      "verify",
      'is "false", but pushMastodonEnv is true; the env block is pushed only after the media check passed: set verify true, or set pushMastodonEnv false and paste the block yourself.',
    );
  }
  const mastodonKey = get("mastodonAccessKeyId");
  if (mastodonKey === undefined) {
    problems.addHidden(
      "mastodonAccessKeyId",
      "is not set, but pushMastodonEnv is true; Mastodon must get its own key, not the program's (which can rewrite the bucket policy and delete media): create a key limited to this bucket in the e2 console and set mastodonAccessKeyId and mastodonSecretAccessKey with `pulumi config set --secret`.",
    );
  } else if (mastodonKey === get("e2AccessKeyId")) {
    problems.addHidden(
      "mastodonAccessKeyId",
      "is the program's own key (equal to e2AccessKeyId; value not shown), but pushMastodonEnv is true; Mastodon must get its own key: create a key limited to this bucket in the e2 console and set mastodonAccessKeyId and mastodonSecretAccessKey to it.",
    );
  }
  return true;
}
