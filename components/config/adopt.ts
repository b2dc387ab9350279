// The adopt key: existing resources to import instead of creating.
import { RULESET_PHASES, type RulesetPhase } from "../edge-rules";
import type { Problems } from "./problems";
import type { Settings } from "./settings";
import { isPlainObject, parseJson, ZONE_ID } from "./values";

export function parseAdopt(value: string | undefined, problems: Problems): Settings["adopt"] | undefined {
  if (value === undefined) return undefined;
  const expected = `an object like {"bucket": true, "dnsRecordId": "<32 hex>", "rulesets": {"<phase>": "<32 hex>"}} with phases ${RULESET_PHASES.join(", ")}`;
  const parsed = parseJson("adopt", value, problems, expected);
  if (parsed === undefined) return undefined;
  if (!isPlainObject(parsed)) return problems.add("adopt", value, expected);
  const adopt: Settings["adopt"] = { bucket: false, rulesets: {} };
  for (const [field, v] of Object.entries(parsed)) {
    const key = `adopt.${field}`;
    if (field === "bucket") {
      if (typeof v !== "boolean") problems.add(key, v, "true or false");
      else adopt.bucket = v;
    } else if (field === "dnsRecordId") {
      if (typeof v !== "string" || !ZONE_ID.test(v))
        problems.add(key, v, "the DNS record's ID: 32 hexadecimal characters");
      else adopt.dnsRecordId = v;
    } else if (field === "rulesets") {
      if (!isPlainObject(v)) {
        problems.add(key, v, "an object mapping a phase to a ruleset ID");
        continue;
      }
      for (const [phase, id] of Object.entries(v)) {
        if (!(RULESET_PHASES as readonly string[]).includes(phase)) {
          problems.add(`${key}.${phase}`, phase, `one of the phases ${RULESET_PHASES.join(", ")}`);
        } else if (typeof id !== "string" || !ZONE_ID.test(id)) {
          problems.add(`${key}.${phase}`, id, "the ruleset's ID: 32 hexadecimal characters");
        } else {
          adopt.rulesets[phase as RulesetPhase] = id;
        }
      }
    } else {
      problems.unknownField("adopt", field, ["bucket", "dnsRecordId", "rulesets"]);
    }
  }
  return adopt;
}
