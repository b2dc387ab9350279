// The edgeRules key: which rule groups the edge gets.
import { EDGE_RULE_GROUPS, type EdgeRuleGroup } from "../edge-rules";
import { DEFAULTS } from "./keys";
import { show, type Problems } from "./problems";
import { nearest } from "./suggest";
import { parseJson } from "./values";

export function parseEdgeRules(
  value: unknown,
  problems: Problems,
): Record<EdgeRuleGroup, boolean> | undefined {
  const expected = `a list drawn from ${EDGE_RULE_GROUPS.map((g) => show(g)).join(", ")} (set with \`pulumi config set --path 'edgeRules[0]' ssl\`; an empty list turns every rule group off)`;
  const groups = value === undefined ? DEFAULTS.edgeRules : parseJson("edgeRules", value, problems, expected);
  if (groups === undefined) return undefined;
  if (!Array.isArray(groups)) return problems.add("edgeRules", value, expected);
  const unknown = groups.filter((g) => !(EDGE_RULE_GROUPS as readonly unknown[]).includes(g));
  if (unknown.length > 0) {
    const hints = unknown.flatMap((g) => {
      const guess = typeof g === "string" ? nearest(g, EDGE_RULE_GROUPS) : undefined;
      return guess ? [`${show(guess)} for ${show(g)}`] : [];
    });
    const listed = unknown.map((g) => show(g)).join(", ");
    return problems.addHidden(
      "edgeRules",
      `has ${listed}, which ${unknown.length === 1 ? "is not a rule group" : "are not rule groups"}${hints.length ? ` (did you mean ${hints.join(", ")}?)` : ""}; expected ${expected}.`,
    );
  }
  return Object.fromEntries(EDGE_RULE_GROUPS.map((g) => [g, groups.includes(g)])) as Record<
    EdgeRuleGroup,
    boolean
  >;
}
