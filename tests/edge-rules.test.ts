import { test } from "node:test";
import * as assert from "node:assert/strict";
import {
  ALLOWED_METHODS,
  ALLOWED_PATH_PREFIXES,
  EDGE_RULE_GROUPS,
  PHASE_OF_GROUP,
  REMOVED_RESPONSE_HEADERS,
  edgeRuleRef,
  edgeRules,
  hostCondition,
  pathAllowedCondition,
  type EdgeRuleSwitches,
} from "../components/edge-rules";
import { PROBE_PREFIX, PUBLIC_MEDIA_PREFIXES } from "../components/media-paths";
import { conjuncts, evaluate, parse, type Node, type Request } from "./support/rules-language";

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
const STACK = "prod";
/** Paths readers fetch: one under each public prefix, and the media check's probe. */
const PUBLIC_PATHS = [
  ...PUBLIC_MEDIA_PREFIXES.map((p) => `/${p}000/000/001/original/a1b2c3.png`),
  `/${PROBE_PREFIX}prod.txt`,
];
/** Paths that must never be served through the media host. */
const REFUSED_PATHS = [
  "/",
  "/backups/dumps/000/000/001/original/archive-20261130.zip",
  "/imports/data/000/000/001/original/follows.csv",
  "/accounts/avatars", // the prefix without its slash
  "/accounts/avatarsX/000/000/001/original/a.png",
  "/Accounts/avatars/000/000/001/original/a.png",
  "/x/accounts/avatars/000/000/001/original/a.png",
  "/?list-type=2",
];

const allRules = () => edgeRules(STACK, HOST, ALL_ON).map((rule) => ({ phase: rule.phase, rule }));
const at = (host: string, method: string, path = PUBLIC_PATHS[0]!): Request => ({ host, method, path });

test("the evaluator used below tells matching from non-matching requests", () => {
  const tree = parse('(http.host eq "a.test") and not (http.request.method in {"GET" "HEAD"})');
  assert.equal(evaluate(tree, at("a.test", "POST")), true);
  assert.equal(evaluate(tree, at("a.test", "GET")), false);
  assert.equal(evaluate(tree, at("b.test", "POST")), false);
  assert.equal(
    evaluate(parse('(http.host eq "a.test") or (http.host eq "b.test")'), at("b.test", "GET")),
    true,
  );
  const prefix = parse('starts_with(http.request.uri.path, "/a/")');
  assert.equal(evaluate(prefix, at("a.test", "GET", "/a/b")), true);
  assert.equal(evaluate(prefix, at("a.test", "GET", "/b/a/")), false);
  assert.throws(() => parse('(http.host contains "a")'), /unsupported operator/);
  assert.throws(() => parse('ends_with(http.request.uri.path, "x")'), /unsupported field or token/);
});

test("each rule group lives in its zone phase, spelled as the Cloudflare API spells it", () => {
  assert.deepEqual(PHASE_OF_GROUP, {
    ssl: "http_config_settings",
    cache: "http_request_cache_settings",
    headers: "http_response_headers_transform",
    methods: "http_request_firewall_custom",
  });
});

test("with every group on there is one rule per group, each in its group's phase", () => {
  assert.deepEqual(
    edgeRules(STACK, HOST, ALL_ON).map((r) => [r.group, r.phase]),
    EDGE_RULE_GROUPS.map((g) => [g, PHASE_OF_GROUP[g]]),
  );
});

for (const group of EDGE_RULE_GROUPS) {
  test(`switching ${group} off drops its rule and keeps the others`, () => {
    assert.deepEqual(
      edgeRules(STACK, HOST, { ...ALL_ON, [group]: false }).map((r) => r.group),
      EDGE_RULE_GROUPS.filter((g) => g !== group),
    );
  });
}

test("with every group off there are no rules", () => {
  assert.deepEqual(edgeRules(STACK, HOST, { ssl: false, cache: false, headers: false, methods: false }), []);
});

test("each rule's ref is stable, differs by group, stack and media host, and uses only plain characters", () => {
  const refs = edgeRules(STACK, HOST, ALL_ON).map((r) => r.ref);
  assert.deepEqual(
    refs,
    edgeRules(STACK, HOST, ALL_ON).map((r) => r.ref),
  );
  assert.equal(new Set(refs).size, 4);
  for (const ref of refs) assert.match(ref, /^mastodon_media_[a-z]+_[0-9a-f]{20}$/);
  assert.notEqual(edgeRuleRef("staging", HOST, "ssl"), edgeRuleRef(STACK, HOST, "ssl"));
  assert.notEqual(edgeRuleRef(STACK, "media.example.social", "ssl"), edgeRuleRef(STACK, HOST, "ssl"));
  // The description names the stack, for whoever reads the dashboard.
  for (const r of edgeRules(STACK, HOST, ALL_ON))
    assert.match(r.description, /mastodon-media \(stack prod\)/);
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

test("no rule matches a request to any other host, whatever the method or path", () => {
  for (const { phase, rule } of allRules()) {
    const tree = parse(rule.expression);
    for (const host of OTHER_HOSTS) {
      for (const method of METHODS) {
        for (const path of [...PUBLIC_PATHS.slice(0, 2), ...REFUSED_PATHS]) {
          assert.equal(
            evaluate(tree, at(host, method, path)),
            false,
            `${phase} matched ${method} ${host}${path}`,
          );
        }
      }
    }
  }
});

test("the TLS, cache and header rules apply to every request to the media host", () => {
  for (const { phase, rule } of allRules().filter((r) => r.phase !== PHASE_OF_GROUP.methods)) {
    for (const method of METHODS)
      for (const path of [PUBLIC_PATHS[0]!, REFUSED_PATHS[1]!])
        assert.equal(
          evaluate(parse(rule.expression), at(HOST, method, path)),
          true,
          `${phase} ${method} ${path}`,
        );
  }
});

test("the method and path rule lets only GET, HEAD and OPTIONS of public media and the probe through", () => {
  const [{ rule }] = allRules().filter((r) => r.phase === PHASE_OF_GROUP.methods);
  assert.equal(rule.action, "block");
  assert.equal(rule.action_parameters, undefined);
  assert.deepEqual(ALLOWED_METHODS, ["GET", "HEAD", "OPTIONS"]);
  const tree = parse(rule.expression);
  for (const method of METHODS) {
    for (const path of PUBLIC_PATHS) {
      assert.equal(
        evaluate(tree, at(HOST, method, path)),
        !ALLOWED_METHODS.includes(method),
        `${method} ${path}`,
      );
    }
  }
});

test("a user's backup archive, the bucket listing and other non-media paths are refused at the edge", () => {
  const [{ rule }] = allRules().filter((r) => r.phase === PHASE_OF_GROUP.methods);
  const tree = parse(rule.expression);
  for (const path of REFUSED_PATHS) {
    for (const method of ["GET", "HEAD", "OPTIONS"]) {
      assert.equal(evaluate(tree, at(HOST, method, path)), true, `${method} ${path} is not blocked`);
    }
  }
});

test("the allowed paths are exactly the public media prefixes and the probe prefix, with a leading slash", () => {
  assert.deepEqual(
    ALLOWED_PATH_PREFIXES,
    [...PUBLIC_MEDIA_PREFIXES, PROBE_PREFIX].map((p) => `/${p}`),
  );
  assert.ok(!ALLOWED_PATH_PREFIXES.some((p) => p.startsWith("/backups")));
  for (const bad of ['/a"b/', "/a/b", "a/", "/", '/x/") or (true/']) {
    assert.throws(() => pathAllowedCondition([bad]), /not a plain path prefix/, bad);
  }
  assert.throws(() => pathAllowedCondition([]), /no allowed path prefixes/);
});

test("the TLS rule sets SSL to Full (strict) and nothing else", () => {
  const [{ rule }] = allRules().filter((r) => r.phase === "http_config_settings");
  assert.equal(rule.action, "set_config");
  assert.deepEqual(rule.action_parameters, { ssl: "strict" });
});

test("the cache rule makes media eligible, respects origin TTLs and ignores the query string, using only all-plan settings", () => {
  const [{ rule }] = allRules().filter((r) => r.phase === "http_request_cache_settings");
  assert.equal(rule.action, "set_cache_settings");
  // Exact: no query-parameter lists and no header/cookie/user/host cache-key parts (Enterprise-only).
  assert.deepEqual(rule.action_parameters, {
    cache: true,
    edge_ttl: { mode: "respect_origin" },
    browser_ttl: { mode: "respect_origin" },
    cache_key: { custom_key: { query_string: { exclude: { all: true } } } },
  });
});

test("the header rule sets CORS for everyone and removes each listed x-amz header", () => {
  const [{ rule }] = allRules().filter((r) => r.phase === "http_response_headers_transform");
  assert.equal(rule.action, "rewrite");
  const headers = rule.action_parameters!.headers as Record<string, { operation: string; value?: string }>;
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
    assert.throws(() => edgeRules(STACK, bad, ALL_ON), /not a lowercase host name/, bad);
  }
});
