// Bad configuration stops the real program before it registers a single resource.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { ProgramFailed } from "../scripts/lib/mock-run";
import { SECRET_VALUES, minimalConfig } from "./support/stack-config";
import { runProgram } from "./support/program-run";

test("bad config fails the program with one message naming each key, and nothing is registered", async () => {
  const raw = minimalConfig({ domain: "not a domain", dnsRecord: "apex" });
  const plainSecret = { values: raw.values, secretKeys: new Set(["e2AccessKeyId"]) };
  const err = await runProgram(plainSecret).then(
    () => assert.fail("the program accepted bad config"),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ProgramFailed, String(err));
  assert.equal(err.name, "ConfigError");
  assert.match(err.message, /nothing was created or changed/);
  assert.match(err.message, /mastodon-media:domain is "not a domain"/);
  assert.match(err.message, /mastodon-media:dnsRecord is "apex"; expected one of "host", "wildcard"/);
  assert.match(err.message, /mastodon-media:e2SecretAccessKey is stored in plain text/);
  assert.ok(!err.message.includes(SECRET_VALUES.e2SecretAccessKey));
  // Only the stack itself, which Pulumi registers before the program starts.
  assert.deepEqual(err.record.registrations.map((r) => r.type), ["pulumi:pulumi:Stack"]);
});
