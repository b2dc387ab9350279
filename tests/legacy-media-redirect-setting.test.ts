// Config keys instanceHost and legacyMediaRedirect, and what the whole program registers for them.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { parseSettings } from "../components/config";
import { legacyMediaRedirectRule } from "../components/legacy-media-redirect";
import { CLOUDFLARE_RULE_TYPE } from "../providers/cloudflare-rule";
import { problemFor } from "./support/config-problems";
import { runProgram } from "./support/program-run";
import { minimalConfig } from "./support/stack-config";

test("by default there is no redirect and the instance host is the domain", () => {
  const s = parseSettings(minimalConfig());
  assert.equal(s.cloudflare.legacyMediaRedirect, false);
  assert.equal(s.instanceHost, "example.social");
});

test("instanceHost is lowercased and may be another host of the zone, or (without the redirect) outside it", () => {
  assert.equal(
    parseSettings(minimalConfig({ instanceHost: "Social.Example.social." })).instanceHost,
    "social.example.social",
  );
  const outside = parseSettings(minimalConfig({ instanceHost: "mastodon.example.org" }));
  assert.equal(outside.instanceHost, "mastodon.example.org");
  assert.equal(outside.cloudflare.legacyMediaRedirect, false);
  const on = parseSettings(
    minimalConfig({ legacyMediaRedirect: "true", instanceHost: "social.example.social" }),
  );
  assert.equal(on.cloudflare.legacyMediaRedirect, true);
});

test("a URL, a bare label or the media host as instanceHost is refused, naming the key", () => {
  problemFor(minimalConfig({ instanceHost: "https://example.social/" }), "instanceHost", "WEB_DOMAIN");
  problemFor(minimalConfig({ instanceHost: "localhost" }), "instanceHost", "no scheme");
  problemFor(minimalConfig({ instanceHost: "files.example.social" }), "instanceHost", "not the media host");
});

test("legacyMediaRedirect must be a boolean, and needs an instance host inside the zone", () => {
  problemFor(minimalConfig({ legacyMediaRedirect: "yes" }), "legacyMediaRedirect", '"yes"', "true or false");
  problemFor(
    minimalConfig({ legacyMediaRedirect: "true", instanceHost: "mastodon.example.org" }),
    "legacyMediaRedirect",
    "not in the Cloudflare zone example.social",
    "nginx",
  );
});

test("the whole program registers the redirect rule only when legacyMediaRedirect is true, from the instance host", async () => {
  const redirects = (r: Awaited<ReturnType<typeof runProgram>>) =>
    r.registrations.filter(
      (x) => x.type === CLOUDFLARE_RULE_TYPE && x.inputs.phase === "http_request_dynamic_redirect",
    );
  assert.equal(redirects(await runProgram(minimalConfig())).length, 0);
  const on = redirects(await runProgram(minimalConfig({ legacyMediaRedirect: "true" })));
  assert.equal(on.length, 1);
  const wanted = legacyMediaRedirectRule("test", "example.social", "files.example.social");
  assert.equal(on[0].inputs.expression, wanted.expression);
  assert.deepEqual(on[0].inputs.actionParameters, wanted.action_parameters);
  const other = redirects(
    await runProgram(minimalConfig({ legacyMediaRedirect: "true", instanceHost: "social.example.social" })),
  );
  assert.equal(
    other[0].inputs.expression,
    legacyMediaRedirectRule("test", "social.example.social", "files.example.social").expression,
  );
});
