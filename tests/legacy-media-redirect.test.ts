// The redirect of old local-storage media URLs: what the Cloudflare rule matches and where it sends each request
// (through the rules-language evaluator, as Cloudflare documents the functions), the nginx equivalent, and the
// choice between them.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import {
  LEGACY_MEDIA_PATH_PREFIX,
  REDIRECT_PHASE,
  isInZone,
  legacyMediaRedirectRule,
  legacyRedirectWay,
  nginxLegacyMediaRedirect,
} from "../components/legacy-media-redirect";
import { PUBLIC_MEDIA_PREFIXES } from "../components/media-paths";
import { evaluateTarget, matches, type Request } from "./support/rules-language";

const INSTANCE = "example.social";
const MEDIA = "files.example.social";
const STACK = "prod";
const rule = legacyMediaRedirectRule(STACK, INSTANCE, MEDIA);
const target = () =>
  (rule.action_parameters!.from_value as { target_url: { expression: string } }).target_url;

/** Keys as Mastodon writes them, and odd ones a copy may hold. */
const KEYS = [
  ...PUBLIC_MEDIA_PREFIXES.map((p) => `${p}000/000/001/original/a1b2c3d4e5f6.png`),
  "media_attachments/files/110/123/456/789/012/345/original/0f1e2d3c4b5a6978.mp4",
  "site_uploads/files/000/000/001/@1x/thumbnail.png",
  "accounts/avatars/000/000/001/original/With Space+plus.png",
  "accounts/avatars/000/000/001/original/%20encoded%2Fslash.png",
  "accounts/avatars/000/000/001/original/dollar$and${1}.png",
  "accounts/avatars/000/000/001/original/UPPER.PNG",
  "accounts/avatars/000/000/001/original/ünïcödé.png",
  "cache/system/nested/system/again.png",
  "a",
];
const OTHER_HOSTS = [
  MEDIA,
  "www.example.social",
  "example.social.evil.test",
  "xexample.social",
  "example.socia",
  "mastodon.example.social",
  "other.social",
  "",
];
const NOT_REDIRECTED_PATHS = [
  "/",
  "/system",
  LEGACY_MEDIA_PATH_PREFIX,
  "/System/accounts/avatars/000/000/001/original/a.png",
  "/SYSTEM/accounts/avatars/000/000/001/original/a.png",
  "/systemx/accounts/avatars/000/000/001/original/a.png",
  "/x/system/accounts/avatars/000/000/001/original/a.png",
  "/accounts/avatars/000/000/001/original/a.png",
  "/media_attachments/files/110/123/456/original/a.png",
  "/api/v1/instance",
  "/@alice/110123456",
  "/.well-known/webfinger",
  "/packs/media/images/logo.svg",
];
const METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE"];
const at = (host: string, path: string, method = "GET"): Request => ({ host, method, path });

test("the evaluator's wildcard_replace follows the functions reference's own examples", () => {
  const path = (p: string) => at(INSTANCE, p);
  assert.equal(
    evaluateTarget('wildcard_replace(http.request.uri.path, "/*", "/apps/${1}")', path("/calendar")),
    "/apps/calendar",
  );
  assert.equal(
    evaluateTarget('wildcard_replace(http.request.uri.path, "/apps/*", "/${1}")', path("/Apps/calendar")),
    "/calendar",
  );
  assert.equal(
    evaluateTarget(
      'wildcard_replace(http.request.uri.path, "/apps/*", "/${1}", "s")',
      path("/Apps/calendar"),
    ),
    "/Apps/calendar",
  );
  assert.equal(
    evaluateTarget(
      'wildcard_replace(http.request.uri.path, "/apps/*/login", "/${1}/login")',
      path("/apps/calendar/login"),
    ),
    "/calendar/login",
  );
  assert.equal(
    evaluateTarget('wildcard_replace(http.request.uri.path, "/a/*", "$$${1}")', path("/a/b")),
    "$b",
  );
  assert.throws(
    () => evaluateTarget('concat("https://x", http.request.uri.path)', path("/a")),
    /unsupported target/,
  );
  assert.throws(
    () => evaluateTarget('wildcard_replace(http.request.uri.path, "/a/**", "x")', path("/a")),
    /invalid/,
  );
});

test("the rule is one 301 dynamic redirect in the zone's redirect phase, query string dropped", () => {
  assert.equal(rule.phase, "http_request_dynamic_redirect");
  assert.equal(REDIRECT_PHASE, rule.phase);
  assert.equal(rule.action, "redirect");
  assert.equal(rule.enabled, true);
  assert.deepEqual(rule.action_parameters, {
    from_value: {
      status_code: 301,
      target_url: {
        expression:
          'wildcard_replace(http.request.uri.path, "/system/*", "https://files.example.social/${1}", "s")',
      },
      preserve_query_string: false,
    },
  });
  assert.match(
    rule.description,
    /^mastodon-media \(stack prod\): old media URLs https:\/\/example\.social\/system\//,
  );
});

test("its ref is stable, plain, and differs by stack and instance host", () => {
  assert.equal(legacyMediaRedirectRule(STACK, INSTANCE, MEDIA).ref, rule.ref);
  assert.match(rule.ref, /^mastodon_media_legacy_media_redirect_[0-9a-f]{20}$/);
  assert.ok(rule.ref.length <= 64);
  assert.notEqual(legacyMediaRedirectRule("staging", INSTANCE, MEDIA).ref, rule.ref);
  assert.notEqual(legacyMediaRedirectRule(STACK, "social.example.social", MEDIA).ref, rule.ref);
});

test("every old media URL of the instance host is redirected to the same key on the media host, whatever the method", () => {
  for (const key of KEYS) {
    for (const method of METHODS) {
      const req = at(INSTANCE, `/system/${key}`, method);
      assert.equal(matches(rule.expression, req), true, `${method} /system/${key} is not redirected`);
      assert.equal(evaluateTarget(target().expression, req), `https://${MEDIA}/${key}`, key);
    }
  }
});

test("no other path of the instance host and no path of any other host is redirected", () => {
  for (const path of NOT_REDIRECTED_PATHS)
    assert.equal(matches(rule.expression, at(INSTANCE, path)), false, `${INSTANCE}${path} is redirected`);
  for (const host of OTHER_HOSTS) {
    for (const path of [...NOT_REDIRECTED_PATHS, ...KEYS.map((k) => `/system/${k}`)]) {
      for (const method of METHODS)
        assert.equal(matches(rule.expression, at(host, path, method)), false, `${method} ${host}${path}`);
    }
  }
});

test("another instance host redirects its own /system/ only, to the same media host", () => {
  const own = legacyMediaRedirectRule(STACK, "social.example.social", MEDIA);
  assert.equal(matches(own.expression, at("social.example.social", "/system/a/b.png")), true);
  assert.equal(matches(own.expression, at(INSTANCE, "/system/a/b.png")), false);
});

test("host names that could break out of the quotes, and a redirect onto itself, are refused", () => {
  for (const bad of ['example".social', "example.social) or (true", "EXAMPLE.social", "example", ""]) {
    assert.throws(
      () => legacyMediaRedirectRule(STACK, bad, MEDIA),
      /instance host is not a lowercase host name/,
      bad,
    );
    assert.throws(
      () => legacyMediaRedirectRule(STACK, INSTANCE, bad),
      /media host is not a lowercase host name/,
      bad,
    );
    assert.throws(() => nginxLegacyMediaRedirect(bad, MEDIA), /not a lowercase host name/, bad);
  }
  assert.throws(() => legacyMediaRedirectRule(STACK, MEDIA, MEDIA), /would loop/);
});

test("the nginx snippet is a /system/ location with a 301 rewrite that drops the query string, to replace Mastodon's own", () => {
  assert.equal(
    nginxLegacyMediaRedirect(INSTANCE, MEDIA),
    [
      "# mastodon-media: old media URLs https://example.social/system/<key> now live at https://files.example.social/<key>.",
      '# In the server block for example.social: replace its "location ^~ /system/ { ... }" block with this one if it',
      "# has one (recent Mastodon nginx.conf does), else add it; then check and reload: nginx -t && systemctl reload nginx",
      "location ^~ /system/ {",
      "  rewrite ^/system/(.+)$ https://files.example.social/$1? permanent;",
      "  return 404;",
      "}",
      "",
    ].join("\n"),
  );
});

test("the nginx rewrite sends every path the Cloudflare rule redirects to the same place, and only those", () => {
  // Read back from the snippet: the location prefix and the rewrite's regex and replacement.
  const snippet = nginxLegacyMediaRedirect(INSTANCE, MEDIA);
  const location = /^location \^~ (\S+) \{$/m.exec(snippet)![1];
  const [, regex, replacement] = /^ {2}rewrite (\S+) (\S+) permanent;$/m.exec(snippet)!;
  assert.ok(replacement.endsWith("?"), "without a trailing ? nginx appends the original query string");
  const nginx = (path: string): string | undefined => {
    if (!path.startsWith(location)) return undefined; // another location serves it
    const m = new RegExp(regex).exec(path);
    return m ? replacement.slice(0, -1).replace("$1", m[1]) : "404";
  };
  for (const key of KEYS) {
    const req = at(INSTANCE, `/system/${key}`);
    assert.equal(nginx(req.path), evaluateTarget(target().expression, req), key);
  }
  for (const path of NOT_REDIRECTED_PATHS) {
    const answer = nginx(path);
    assert.ok(answer === undefined || answer === "404", `${path} → ${answer}`);
  }
});

test("the Cloudflare rule is chosen only for a proxied host inside the zone; otherwise nginx, saying why", () => {
  assert.deepEqual(legacyRedirectWay({ zone: INSTANCE, instanceHost: INSTANCE, proxied: true }), {
    by: "cloudflare",
  });
  assert.deepEqual(
    legacyRedirectWay({ zone: INSTANCE, instanceHost: "social.example.social", proxied: true }),
    {
      by: "cloudflare",
    },
  );
  const outside = legacyRedirectWay({ zone: INSTANCE, instanceHost: "example.org", proxied: true });
  assert.equal(outside.by, "nginx");
  assert.match(
    (outside as { why: string }).why,
    /example\.org is not in the Cloudflare zone example\.social/,
  );
  const grey = legacyRedirectWay({ zone: INSTANCE, instanceHost: INSTANCE, proxied: false });
  assert.match((grey as { why: string }).why, /DNS only \(grey cloud\)/);
  const unknown = legacyRedirectWay({ zone: INSTANCE, instanceHost: INSTANCE, proxied: undefined });
  assert.equal(unknown.by, "nginx");
  assert.match((unknown as { why: string }).why, /not known whether example\.social is proxied/);
  assert.equal(isInZone("xexample.social", INSTANCE), false);
  assert.equal(isInZone("a.b.example.social", INSTANCE), true);
});
