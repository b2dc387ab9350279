// Raw stack config → validated Settings, in one pass that reports every problem at once. The stack config is
// one caller of normalizeArgs (the other is MastodonMediaStorage's own arguments); only what is particular to
// the config is checked here: that secrets were stored encrypted.
import { SECRET_KEYS } from "./keys";
import { normalizeArgs, type ArgValues } from "./normalize-args";
import { Problems } from "./problems";
import type { Settings } from "./settings";
import type { RawConfig } from "./stack-config";

/** Parses and validates raw stack config. Throws ConfigError listing every problem. */
export function parseSettings(raw: RawConfig): Settings {
  const problems = new Problems("config", raw.namespace);
  for (const key of SECRET_KEYS) {
    if (raw.values[key] !== undefined && raw.values[key] !== "" && !raw.secretKeys.has(key)) {
      problems.addHidden(
        key,
        `is stored in plain text; it is a secret: set it again with \`pulumi config set --secret ${key}\` (value not shown).`,
      );
    }
  }
  const settings = normalizeArgs(raw.values as ArgValues, problems, raw.secretKeys);
  problems.throwIfAny();
  return settings!;
}
