// The mastodonEnvExtra key: extra variables for Mastodon's env block.
import { MANAGED_ENV_KEYS } from "./keys";
import type { Problems } from "./problems";
import { ENV_NAME, isPlainObject, parseJson } from "./values";

function parseJsonQuietly(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return undefined;
  }
}

/** `secret`: some value in it is encrypted (`--secret --path`), so no value is echoed in a problem. */
export function parseEnvExtra(
  value: string | undefined,
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
    } else if (!["string", "number", "boolean"].includes(typeof v) || /[\r\n\0]/.test(String(v))) {
      if (secret) notShown(key, "a single-line string, number or boolean");
      else problems.add(key, v, "a single-line string, number or boolean");
    } else {
      extra[name] = String(v);
    }
  }
  return extra;
}
