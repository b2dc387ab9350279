// The mastodonEnvExtra key: extra variables for Mastodon's env block.
import { MANAGED_ENV_KEYS } from "./keys";
import { MIN_PART_BYTES } from "../mastodon-env";

// The bucket policy, the Cloudflare rules and the media check name Mastodon's public key prefixes from the
// bucket root (components/media-paths.ts). A key prefix would move every object outside them: media would be
// refused to readers. Refusing it is clearer than guessing how a given Mastodon version applies it.
const REFUSED_ENV_KEYS: Record<string, string> = {
  S3_KEY_PREFIX:
    "is not supported: the bucket policy and Cloudflare rules allow reads only under Mastodon's own key prefixes at the bucket root " +
    "(accounts/, media_attachments/, cache/, …), so prefixed keys would not be served. Use a bucket of its own per instance and remove S3_KEY_PREFIX from mastodonEnvExtra.",
};
import type { Problems } from "./problems";
import { ENV_NAME, isPlainObject, parseJson } from "./values";

function parseJsonQuietly(value: unknown): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

function isMultipartThreshold(value: string): boolean {
  return /^\d{1,15}$/.test(value) && Number(value) >= MIN_PART_BYTES;
}

/** `secret`: some value in it is encrypted (`--secret --path`), so no value is echoed in a problem. */
export function parseEnvExtra(
  value: unknown,
  problems: Problems,
  secret = false,
): Record<string, string> | undefined {
  if (value === undefined) return undefined;
  const expected = 'an object of extra Mastodon variables, e.g. {"S3_FORCE_SINGLE_REQUEST": "true"}';
  const notShown = (key: string, what: string) =>
    problems.addHidden(key, `is not ${what} (value not shown: it holds a secret).`);
  if (secret && !isPlainObject(parseJsonQuietly(value))) return notShown("mastodonEnvExtra", expected);
  const parsed = parseJson("mastodonEnvExtra", value, problems, expected);
  if (parsed === undefined) return undefined;
  if (!isPlainObject(parsed)) return problems.add("mastodonEnvExtra", value, expected);
  const extra: Record<string, string> = {};
  for (const [name, v] of Object.entries(parsed)) {
    const key = `mastodonEnvExtra.${name}`;
    if (!ENV_NAME.test(name)) {
      problems.add(key, name, "an environment variable name: uppercase letters, digits and underscores");
    } else if ((MANAGED_ENV_KEYS as readonly string[]).includes(name)) {
      problems.addHidden(
        key,
        `is set by the program itself and cannot be overridden; remove it from mastodonEnvExtra.`,
      );
    } else if (name in REFUSED_ENV_KEYS) {
      problems.addHidden(key, REFUSED_ENV_KEYS[name]);
    } else if (!["string", "number", "boolean"].includes(typeof v) || /[\r\n\0]/.test(String(v))) {
      if (secret) notShown(key, "a single-line string, number or boolean");
      else problems.add(key, v, "a single-line string, number or boolean");
    } else if (name === "S3_MULTIPART_THRESHOLD" && !isMultipartThreshold(String(v))) {
      // Mastodon reads it with `.to_i` ("15MB" would become 15 bytes) and its SDK refuses parts below 5 MiB.
      problems.add(
        key,
        v,
        `a whole number of bytes, at least ${MIN_PART_BYTES} (5 MiB: Mastodon's S3 client cannot upload smaller files in parts), e.g. "104857600" for 100 MiB`,
      );
    } else {
      extra[name] = String(v);
    }
  }
  return extra;
}
