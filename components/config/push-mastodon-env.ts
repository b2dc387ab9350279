// The pushMastodonEnv switch and what a push requires: the media check on, and Mastodon's own key.
import { DEFAULTS } from "./keys";
import { show, type Problems } from "./problems";
import { parseBoolean } from "./values";

/** Mastodon's key given as the program's own while pushing; also checked when the keys resolve (normalizeArgs). */
export const SHARED_KEY_MESSAGE =
  "is the program's own key (equal to e2AccessKeyId; value not shown), but pushMastodonEnv is true; Mastodon must get its own key: create a key limited to this bucket in the e2 console and set mastodonAccessKeyId and mastodonSecretAccessKey to it.";

/**
 * Whether the env block is pushed to mastodonHost. Off by default: a push restarts a live Mastodon with new
 * storage settings, so it is asked for explicitly. `get` reads a raw value (undefined when unset): text from
 * the stack config, or the value a program passed. Keys that are Outputs are compared when they resolve
 * (normalizeArgs).
 */
export function parsePushMastodonEnv(get: (key: string) => unknown, problems: Problems): boolean {
  const push = parseBoolean("pushMastodonEnv", get("pushMastodonEnv"), DEFAULTS.pushMastodonEnv, problems);
  if (push !== true) return false;
  if (get("mastodonHost") === undefined) {
    problems.addHidden(
      "pushMastodonEnv",
      "is true, but mastodonHost is not set; set mastodonHost (where to push), or set pushMastodonEnv false.",
    );
  }
  if (get("verify") === "false" || get("verify") === false) {
    problems.addHidden(
      "verify",
      `is ${show(get("verify"))}, but pushMastodonEnv is true; the env block is pushed only after the media check passed: set verify true, or set pushMastodonEnv false and paste the block yourself.`,
    );
  }
  const mastodonKey = get("mastodonAccessKeyId");
  if (mastodonKey === undefined) {
    problems.addHidden(
      "mastodonAccessKeyId",
      "is not set, but pushMastodonEnv is true; Mastodon must get its own key, not the program's (which can rewrite the bucket policy and delete media): create a key limited to this bucket in the e2 console and set mastodonAccessKeyId and mastodonSecretAccessKey with `pulumi config set --secret`.",
    );
  } else if (typeof mastodonKey === "string" && mastodonKey === get("e2AccessKeyId")) {
    problems.addHidden("mastodonAccessKeyId", SHARED_KEY_MESSAGE);
  }
  return true;
}
