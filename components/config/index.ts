// Stack configuration → validated, typed settings. No resources here: everything is checked before the
// program registers anything, and every problem is reported at once, naming the key and what is expected.
// One file per concern: keys and defaults, the Settings shape, reading the stack, reporting problems, and
// one parser per kind of value.
export {
  DEFAULTS,
  KNOWN_KEYS,
  MANAGED_ENV_KEYS,
  OBJECT_KEYS,
  ORIGIN_CERT_VALIDITY_DAYS,
  PROJECT_NAME,
  SECRET_KEYS,
} from "./keys";
export type {
  Credentials,
  DnsRecordMode,
  EdgeRuleGroup,
  MastodonHostSettings,
  OriginKeyType,
  RestartMode,
  RulesetPhase,
  Settings,
} from "./settings";
export { readStackConfig, type RawConfig } from "./stack-config";
export { ConfigError } from "./problems";
export { isDnsName } from "./values";
export { parseSettings } from "./parse-settings";
export { normalizeArgs, settingsFromArgs, type ArgValues } from "./normalize-args";
