// holdMediaDns: for an instance whose old bucket already serves the media host, the media host's DNS does not move
// to e2 (and nothing switches Mastodon) until the operator releases the hold. Config checks and the whole program
// under mocks, held and released.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { parseSettings } from "../components/config";
import { MastodonMediaStorage } from "../components/mastodon-media-storage";
import { problemFor } from "./support/config-problems";
import { installRecordingMocks, type MockRunResult } from "./support/mock-run";
import { runProgram } from "./support/program-run";
import { SECRET_VALUES, minimalConfig } from "./support/stack-config";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
/** A stack ready to push: Mastodon's own key, the server and its host key. */
const PUSH_READY = {
  mastodonAccessKeyId: SECRET_VALUES.mastodonAccessKeyId,
  mastodonSecretAccessKey: SECRET_VALUES.mastodonSecretAccessKey,
  mastodonHost: JSON.stringify({ host: "mastodon.example.social", user: "mastodon", hostKey: HOST_KEY }),
  mastodonHostSshKey: SECRET_VALUES.mastodonHostSshKey,
};
const RECORD = "cloudflare:index/dnsRecord:DnsRecord";
const CUSTOM_DOMAIN = "pulumi-nodejs:dynamic/mastodon-media/e2:CustomDomain";
const CERT = "cloudflare:index/originCaCertificate:OriginCaCertificate";
const CHECK = "command:local:Command";
const PUSH = "command:remote:Command";

const of = (r: MockRunResult, type: string) => r.registrations.filter((x) => x.type === type);

test("holdMediaDns is off by default and must be a boolean", () => {
  assert.equal(parseSettings(minimalConfig()).cloudflare.holdMediaDns, false);
  assert.equal(parseSettings(minimalConfig({ holdMediaDns: "true" })).cloudflare.holdMediaDns, true);
  problemFor(minimalConfig({ holdMediaDns: "1" }), "holdMediaDns", '"1"', "true or false");
});

test("a held media host with pushMastodonEnv true is refused, naming both keys and the way out", () => {
  problemFor(
    minimalConfig({ ...PUSH_READY, holdMediaDns: "true", pushMastodonEnv: "true" }),
    "pushMastodonEnv",
    "holdMediaDns is true",
    "set holdMediaDns false in the same change",
  );
});

test("a held media host whose DNS record is also to be adopted is refused", () => {
  problemFor(
    minimalConfig({
      holdMediaDns: "true",
      cloudflareZoneId: "0123456789abcdef0123456789abcdef",
      adopt: JSON.stringify({ dnsRecordId: "1".repeat(32) }),
    }),
    "adopt.dnsRecordId",
    "holdMediaDns is true",
  );
});

test("held: no DNS record, no media check and no push are registered; certificate and custom-domain check are, and it says so", async () => {
  const held = await runProgram(minimalConfig({ ...PUSH_READY, holdMediaDns: "true" }));
  assert.equal(of(held, RECORD).length, 0);
  assert.equal(of(held, CHECK).length, 0);
  assert.equal(of(held, PUSH).length, 0);
  assert.equal(of(held, CERT).length, 1);
  const [custom] = of(held, CUSTOM_DOMAIN);
  assert.ok(custom, "the custom-domain check talks to e2 with SNI and still runs");
  assert.ok(custom.options.dependencies.includes(of(held, CERT)[0].urn));
  assert.ok(
    held.warnings.some((w) =>
      /^holdMediaDns is true: no DNS record is managed for files\.example\.social/.test(w),
    ),
  );
});

test("released in the same change as the push: record, media check and push are registered as without a hold", async () => {
  const released = await runProgram(
    minimalConfig({ ...PUSH_READY, holdMediaDns: "false", pushMastodonEnv: "true" }),
  );
  const [record] = of(released, RECORD);
  assert.ok(record);
  assert.equal(record.inputs.name, "files.example.social");
  const [check] = of(released, CHECK);
  assert.ok(check.options.dependencies.includes(record.urn));
  const [push] = of(released, PUSH);
  assert.ok(push.options.dependencies.includes(check.urn));
  assert.ok(of(released, CUSTOM_DOMAIN)[0].options.dependencies.includes(record.urn));
  assert.ok(!released.warnings.some((w) => w.includes("holdMediaDns")));
});

test("MastodonMediaStorage itself refuses a push while the media host's DNS is held, before registering anything", async () => {
  const settings = parseSettings(minimalConfig({ ...PUSH_READY, pushMastodonEnv: "true" }));
  const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
  assert.throws(
    () =>
      new MastodonMediaStorage("media", {
        ...settings,
        cloudflare: { ...settings.cloudflare, holdMediaDns: true },
      }),
    (e: unknown) =>
      pulumi.InputPropertiesError.isInstance(e) &&
      e.errors.some((x) => x.propertyPath === "cloudflare.holdMediaDns"),
  );
  assert.deepEqual(record.registrations, []);
});
