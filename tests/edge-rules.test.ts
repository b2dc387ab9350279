import { test } from "node:test";
import * as assert from "node:assert/strict";
import {
  ALLOWED_METHODS,
  EDGE_RULE_GROUPS,
  PHASE_OF_GROUP,
  REMOVED_RESPONSE_HEADERS,
  edgeRulesets,
  entryPointProblems,
  hostCondition,
  rulesetName,
  type EdgeRuleSwitches,
  type ListedRuleset,
} from "../components/edge-rules";

const HOST = "files.example.social";
const ALL_ON: EdgeRuleSwitches = { ssl: true, cache: true, headers: true, methods: true };
const OTHER_HOSTS = [
  "example.social",
  "www.example.social",
  "media.example.social",
  "files.example.social.evil.test",
  "xfiles.example.social",
  "files.example.socia",
  "a.files.example.social",
  "files.other.social",
  "",
];
const METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE", "PROPFIND", "CONNECT"];

// A small evaluator for the rules language subset (fields, string literals, eq/ne/in, not/and/or, parentheses).
// Anything outside that subset throws, so a rule written with other constructs fails these tests instead of
// slipping through them.
type Request = { host: string; method: string };
type Node =
  | { kind: "and" | "or"; left: Node; right: Node }
  | { kind: "not"; operand: Node }
  | { kind: "eq" | "ne"; field: string; value: string }
  | { kind: "in"; field: string; values: string[] };

function tokenize(expr: string): string[] {
  const tokens: string[] = [];
  const re = /\s*(?:("(?:[^"\\]|\\.)*")|([(){}])|([A-Za-z_][A-Za-z0-9_.]*))/y;
  let at = 0;
  while (at < expr.length) {
    if (/^\s*$/.test(expr.slice(at))) break;
    re.lastIndex = at;
    const m = re.exec(expr);
    if (!m) throw new Error(`cannot read expression at ${at}: ${expr.slice(at)}`);
    tokens.push(m[1] ?? m[2] ?? m[3]);
    at = re.lastIndex;
  }
  return tokens;
}

function parse(expr: string): Node {
  const tokens = tokenize(expr);
  let i = 0;
  const next = () => tokens[i++];
  const peek = () => tokens[i];
  const expect = (t: string) => {
    const got = next();
    if (got !== t) throw new Error(`expected ${t}, got ${got} in ${expr}`);
  };
  const literal = () => {
    const t = next();
    if (!t?.startsWith('"')) throw new Error(`expected a string, got ${t} in ${expr}`);
    return JSON.parse(t) as string;
  };
  const FIELDS = ["http.host", "http.request.method"];
  function primary(): Node {
    const t = next();
    if (t === "not") return { kind: "not", operand: primary() };
    if (t === "(") {
      const inner = disjunction();
      expect(")");
      return inner;
    }
    if (!FIELDS.includes(t)) throw new Error(`unsupported field or token ${t} in ${expr}`);
    const op = next();
    if (op === "eq" || op === "ne") return { kind: op, field: t, value: literal() };
    if (op === "in") {
      expect("{");
      const values: string[] = [];
      while (peek() !== "}") values.push(literal());
      expect("}");
      return { kind: "in", field: t, values };
    }
    throw new Error(`unsupported operator ${op} in ${expr}`);
  }
  function conjunction(): Node {
    let node = primary();
    while (peek() === "and") {
      next();
      node = { kind: "and", left: node, right: primary() };
    }
    return node;
  }
  function disjunction(): Node {
    let node = conjunction();
    while (peek() === "or") {
      next();
      node = { kind: "or", left: node, right: conjunction() };
    }
    return node;
  }
  const tree = disjunction();
  if (i !== tokens.length) throw new Error(`trailing tokens in ${expr}`);
  return tree;
}

function evaluate(node: Node, req: Request): boolean {
  const field = (name: string) => (name === "http.host" ? req.host : req.method);
  switch (node.kind) {
    case "and":
      return evaluate(node.left, req) && evaluate(node.right, req);
    case "or":
      return evaluate(node.left, req) || evaluate(node.right, req);
    case "not":
      return !evaluate(node.operand, req);
    case "eq":
      return field(node.field) === node.value;
    case "ne":
      return field(node.field) !== node.value;
    case "in":
      return node.values.includes(field(node.field));
  }
}

/** The top-level `and` operands of a parsed expression. */
function conjuncts(node: Node): Node[] {
  return node.kind === "and" ? [...conjuncts(node.left), ...conjuncts(node.right)] : [node];
}

const allRules = () =>
  edgeRulesets(HOST, ALL_ON).flatMap((rs) => rs.rules.map((rule) => ({ phase: rs.phase, rule })));

test("the evaluator used below tells matching from non-matching requests", () => {
  const tree = parse('(http.host eq "a.test") and not (http.request.method in {"GET" "HEAD"})');
  assert.equal(evaluate(tree, { host: "a.test", method: "POST" }), true);
  assert.equal(evaluate(tree, { host: "a.test", method: "GET" }), false);
  assert.equal(evaluate(tree, { host: "b.test", method: "POST" }), false);
  assert.equal(
    evaluate(parse('(http.host eq "a.test") or (http.host eq "b.test")'), { host: "b.test", method: "GET" }),
    true,
  );
  assert.throws(() => parse('(http.host contains "a")'), /unsupported operator/);
});

test("each rule group lives in its zone phase, spelled as the Cloudflare API spells it", () => {
  assert.deepEqual(PHASE_OF_GROUP, {
    ssl: "http_config_settings",
    cache: "http_request_cache_settings",
    headers: "http_response_headers_transform",
    methods: "http_request_firewall_custom",
  });
});

test("with every group on there is one ruleset per group, each in its group's phase, with one rule", () => {
  const rulesets = edgeRulesets(HOST, ALL_ON);
  assert.deepEqual(
    rulesets.map((r) => [r.group, r.phase]),
    EDGE_RULE_GROUPS.map((g) => [g, PHASE_OF_GROUP[g]]),
  );
  for (const r of rulesets) assert.equal(r.rules.length, 1, r.group);
});

for (const group of EDGE_RULE_GROUPS) {
  test(`switching ${group} off drops its ruleset and keeps the others`, () => {
    const groups = edgeRulesets(HOST, { ...ALL_ON, [group]: false }).map((r) => r.group);
    assert.deepEqual(
      groups,
      EDGE_RULE_GROUPS.filter((g) => g !== group),
    );
  });
}

test("with every group off there are no rulesets", () => {
  assert.deepEqual(edgeRulesets(HOST, { ssl: false, cache: false, headers: false, methods: false }), []);
});

test("every rule is enabled and its expression is the exact media host condition joined only by and", () => {
  for (const { phase, rule } of allRules()) {
    assert.equal(rule.enabled, true, phase);
    assert.ok(rule.expression.startsWith(`(http.host eq "${HOST}")`), `${phase}: ${rule.expression}`);
    const parts = conjuncts(parse(rule.expression));
    assert.deepEqual(parts[0], { kind: "eq", field: "http.host", value: HOST }, phase);
    const mentionsHost = (n: Node): boolean => {
      switch (n.kind) {
        case "and":
        case "or":
          return mentionsHost(n.left) || mentionsHost(n.right);
        case "not":
          return mentionsHost(n.operand);
        default:
          return n.field === "http.host";
      }
    };
    assert.ok(!parts.slice(1).some(mentionsHost), `${phase}: only the first condition may look at the host`);
  }
});

test("no rule matches a request to any other host, whatever the method", () => {
  for (const { phase, rule } of allRules()) {
    const tree = parse(rule.expression);
    for (const host of OTHER_HOSTS) {
      for (const method of METHODS) {
        assert.equal(evaluate(tree, { host, method }), false, `${phase} matched ${method} ${host}`);
      }
    }
  }
});

test("the TLS, cache and header rules apply to every request to the media host", () => {
  for (const { phase, rule } of allRules().filter((r) => r.phase !== PHASE_OF_GROUP.methods)) {
    for (const method of METHODS)
      assert.equal(evaluate(parse(rule.expression), { host: HOST, method }), true, `${phase} ${method}`);
  }
});

test("the method rule blocks every method except GET, HEAD and OPTIONS on the media host", () => {
  const [{ rule }] = allRules().filter((r) => r.phase === PHASE_OF_GROUP.methods);
  assert.equal(rule.action, "block");
  assert.equal(rule.actionParameters, undefined);
  assert.deepEqual(ALLOWED_METHODS, ["GET", "HEAD", "OPTIONS"]);
  const tree = parse(rule.expression);
  for (const method of METHODS) {
    assert.equal(evaluate(tree, { host: HOST, method }), !ALLOWED_METHODS.includes(method), method);
  }
});

test("the TLS rule sets SSL to Full (strict) and nothing else", () => {
  const [{ rule }] = allRules().filter((r) => r.phase === "http_config_settings");
  assert.equal(rule.action, "set_config");
  assert.deepEqual(rule.actionParameters, { ssl: "strict" });
});

test("the cache rule makes media eligible, respects origin TTLs and ignores the query string, using only all-plan settings", () => {
  const [{ rule }] = allRules().filter((r) => r.phase === "http_request_cache_settings");
  assert.equal(rule.action, "set_cache_settings");
  // Exact: no query-parameter lists and no header/cookie/user/host cache-key parts (Enterprise-only).
  assert.deepEqual(rule.actionParameters, {
    cache: true,
    edgeTtl: { mode: "respect_origin" },
    browserTtl: { mode: "respect_origin" },
    cacheKey: { customKey: { queryString: { exclude: { all: true } } } },
  });
});

test("the header rule sets CORS for everyone and removes each listed x-amz header", () => {
  const [{ rule }] = allRules().filter((r) => r.phase === "http_response_headers_transform");
  assert.equal(rule.action, "rewrite");
  const headers = rule.actionParameters!.headers as Record<string, { operation: string; value?: string }>;
  assert.deepEqual(headers["Access-Control-Allow-Origin"], { operation: "set", value: "*" });
  const removed = Object.entries(headers).filter(([, h]) => h.operation === "remove");
  assert.deepEqual(removed.map(([name]) => name).sort(), [...REMOVED_RESPONSE_HEADERS].sort());
  assert.equal(Object.keys(headers).length, REMOVED_RESPONSE_HEADERS.length + 1);
});

test("the removed headers are concrete lowercase x-amz names: Cloudflare cannot remove by wildcard", () => {
  for (const h of REMOVED_RESPONSE_HEADERS) assert.match(h, /^x-amzn?-[a-z0-9-]+$/, h);
  assert.ok(REMOVED_RESPONSE_HEADERS.includes("x-amz-request-id"));
  assert.ok(REMOVED_RESPONSE_HEADERS.includes("x-amz-id-2"));
  assert.equal(new Set(REMOVED_RESPONSE_HEADERS).size, REMOVED_RESPONSE_HEADERS.length);
});

test("a host name that could break out of the expression's quotes is refused", () => {
  for (const bad of [
    'files".example.social',
    "files.example.social) or (true",
    "FILES.example.social",
    "files",
    "",
  ]) {
    assert.throws(() => hostCondition(bad), /not a lowercase host name/, bad);
    assert.throws(() => edgeRulesets(bad, ALL_ON), /not a lowercase host name/, bad);
  }
});

test("our rulesets are named for the media host", () => {
  assert.equal(rulesetName(HOST), "mastodon-media files.example.social");
});

const OURS = rulesetName(HOST);
const entry = (phase: string, id: string, name: string, kind = "zone"): ListedRuleset => ({
  id,
  kind,
  phase,
  name,
});
const ID_A = "a".repeat(32);
const ID_B = "b".repeat(32);

test("a zone without entry-point rulesets has no conflicts", () => {
  assert.deepEqual(
    entryPointProblems([], ["http_config_settings", "http_request_firewall_custom"], {}, OURS),
    [],
  );
});

test("a foreign entry point in a phase we manage is a conflict naming the phase, the ruleset and both ways out", () => {
  const problems = entryPointProblems(
    [entry("http_request_firewall_custom", ID_A, "default")],
    ["http_request_firewall_custom"],
    {},
    OURS,
  );
  assert.equal(problems.length, 1);
  assert.match(problems[0], /http_request_firewall_custom/);
  assert.match(problems[0], new RegExp(ID_A));
  assert.match(problems[0], /"default"/);
  assert.match(problems[0], /remove "methods" from edgeRules/);
  assert.match(problems[0], new RegExp(`adopt\\.rulesets\\.http_request_firewall_custom = "${ID_A}"`));
  assert.match(problems[0], /replaced/);
});

test("an entry point that carries our name is ours, not a conflict", () => {
  assert.deepEqual(
    entryPointProblems([entry("http_config_settings", ID_A, OURS)], ["http_config_settings"], {}, OURS),
    [],
  );
});

test("an entry point named for another media host is a conflict", () => {
  const other = rulesetName("staging.example.social");
  assert.equal(
    entryPointProblems([entry("http_config_settings", ID_A, other)], ["http_config_settings"], {}, OURS)
      .length,
    1,
  );
});

test("rulesets that are not entry points, or sit in phases we do not manage, are no conflict", () => {
  const listed = [
    entry("http_request_firewall_custom", ID_A, "Cloudflare Managed Ruleset", "managed"),
    entry("http_request_firewall_custom", ID_B, "my custom set", "custom"),
    entry("http_request_cache_settings", ID_B, "default"),
  ];
  assert.deepEqual(
    entryPointProblems(listed, ["http_request_firewall_custom", "http_config_settings"], {}, OURS),
    [],
  );
});

test("adopting the phase's entry point by its ID settles the conflict", () => {
  const listed = [entry("http_request_firewall_custom", ID_A, "default")];
  assert.deepEqual(
    entryPointProblems(
      listed,
      ["http_request_firewall_custom"],
      { http_request_firewall_custom: ID_A },
      OURS,
    ),
    [],
  );
});

test("adopting an ID that is not the phase's entry point is refused", () => {
  const listed = [entry("http_request_firewall_custom", ID_A, "default")];
  const problems = entryPointProblems(
    listed,
    ["http_request_firewall_custom"],
    { http_request_firewall_custom: ID_B },
    OURS,
  );
  assert.equal(problems.length, 1);
  assert.match(
    problems[0],
    new RegExp(`adopt\\.rulesets\\.http_request_firewall_custom is ${ID_B}.*is ${ID_A}`),
  );
});

test("adopting a phase that has no entry point is refused", () => {
  const problems = entryPointProblems([], ["http_config_settings"], { http_config_settings: ID_A }, OURS);
  assert.equal(problems.length, 1);
  assert.match(problems[0], /no entry-point ruleset for http_config_settings/);
});
