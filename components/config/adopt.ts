// The adopt key: existing resources to import instead of creating.
import type { Problems } from "./problems";
import type { Settings } from "./settings";
import { isPlainObject, parseJson, ZONE_ID } from "./values";

export function parseAdopt(value: unknown, problems: Problems): Settings["adopt"] | undefined {
  if (value === undefined) return undefined;
  const expected = `an object like {"bucket": true, "dnsRecordId": "<32 hex>"}`;
  const parsed = parseJson("adopt", value, problems, expected);
  if (parsed === undefined) return undefined;
  if (!isPlainObject(parsed)) return problems.add("adopt", value, expected);
  const adopt: Settings["adopt"] = { bucket: false };
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
      // Entry-point rulesets are no longer taken over: our rules live beside the operator's in any entry point.
      problems.add(
        key,
        v,
        "nothing: rulesets are no longer adopted (each rule of ours now sits beside your own rules in the " +
          "phase's entry point); remove adopt.rulesets",
      );
    } else {
      problems.unknownField("adopt", field, ["bucket", "dnsRecordId"]);
    }
  }
  return adopt;
}
