// MastodonMediaStorage's own arguments: the same defaults and checks as the stack config (one normaliser),
// problems named by argument before anything is registered, Outputs where the args file allows them and
// checked when they resolve.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { parseSettings, settingsFromArgs } from "../components/config";
import { MastodonMediaStorage } from "../components/mastodon-media-storage";
import type { MastodonMediaStorageArgs } from "../components/mastodon-media-storage-args";
import { e2ConsoleStep } from "../components/e2-console-step";
import { installRecordingMocks, plaintextOccurrences, runInMockStack } from "./support/mock-run";
import { SECRET_VALUES, minimalConfig } from "./support/stack-config";

const minimalArgs = (extra: Partial<MastodonMediaStorageArgs> = {}): MastodonMediaStorageArgs => ({
  domain: "example.social",
  bucket: "files",
  e2Endpoint: "s3.eu-central-2.idrivee2.com",
  e2AccessKeyId: SECRET_VALUES.e2AccessKeyId,
  e2SecretAccessKey: SECRET_VALUES.e2SecretAccessKey,
  ...extra,
});

/** A real ed25519 public key (any valid one: the test is about the access keys). */
const SSH_HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";

const EXPECTED_FAILURE = /^Invalid MastodonMediaStorage arguments:/;

/**
 * How the Output `make` returns settles (the SDK's internal promise, as the engine sees it). A failed check
 * also rejects the promises of the Outputs built on it (secret wrappers, isKnown), which a deployment reports
 * as its failure and nobody awaits here. While this runs, those rejections, and only those, are expected: the
 * test runner's own rejection listeners are set aside and given back afterwards; any other rejection fails.
 */
async function settle(make: () => pulumi.Output<unknown>): Promise<{ value?: unknown; error?: Error }> {
  const runnerListeners = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  const unexpected: unknown[] = [];
  process.on("unhandledRejection", (reason: unknown) => {
    if (!(reason instanceof Error && EXPECTED_FAILURE.test(reason.message))) unexpected.push(reason);
  });
  try {
    const output = make() as unknown as { promise(): Promise<unknown> };
    const result = await output.promise().then(
      (value) => ({ value }),
      (error: Error) => ({ error }),
    );
    // The derived Outputs reject in microtasks chained to the same rejection; Node reports unhandled ones
    // when the microtask queue has drained, before the next macrotask.
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unexpected, []);
    return result;
  } finally {
    process.removeAllListeners("unhandledRejection");
    for (const listener of runnerListeners) process.on("unhandledRejection", listener);
  }
}

/** Settings without their Outputs, for comparing the two callers' plain results. */
function plainPart(s: ReturnType<typeof parseSettings>) {
  const { e2Credentials: _e, mastodonCredentials: _m, ...rest } = s;
  return rest;
}

test("minimal args get the same defaults and derived values as a minimal stack config", () => {
  assert.deepEqual(plainPart(settingsFromArgs(minimalArgs())), plainPart(parseSettings(minimalConfig())));
});

test("typed args and their stack config text give the same settings", () => {
  const args = minimalArgs({
    bucket: "media",
    originCertificateValidityDays: 90,
    originCertificateGeneration: 2,
    verify: false,
    verifyTimeoutSeconds: 60,
    edgeRules: ["ssl", "cache"],
    adopt: { bucket: true },
    mastodonEnvExtra: { S3_FORCE_SINGLE_REQUEST: "true" },
  });
  const config = minimalConfig({
    bucket: "media",
    originCertificateValidityDays: "90",
    originCertificateGeneration: "2",
    verify: "false",
    verifyTimeoutSeconds: "60",
    edgeRules: JSON.stringify(["ssl", "cache"]),
    adopt: JSON.stringify({ bucket: true }),
    mastodonEnvExtra: JSON.stringify({ S3_FORCE_SINGLE_REQUEST: "true" }),
  });
  assert.deepEqual(plainPart(settingsFromArgs(args)), plainPart(parseSettings(config)));
});

test("bad args throw one InputPropertiesError naming each argument and value, and nothing is registered", async () => {
  const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
  const { e2SecretAccessKey: _omitted, ...rest } = minimalArgs();
  const bad = {
    ...rest,
    bucket: "Media_Files",
    dnsRecord: "apex",
    verifyTimeoutSeconds: 1.5,
  } as unknown as MastodonMediaStorageArgs;
  let caught: unknown;
  await runInMockStack(() => {
    try {
      new MastodonMediaStorage("media", bad);
    } catch (e) {
      caught = e;
    }
  });
  assert.ok(pulumi.InputPropertiesError.isInstance(caught), String(caught));
  const byPath = Object.fromEntries(caught.errors.map((e) => [e.propertyPath, e.reason]));
  assert.deepEqual(Object.keys(byPath).sort(), [
    "bucket",
    "dnsRecord",
    "e2SecretAccessKey",
    "verifyTimeoutSeconds",
  ]);
  assert.match(byPath.bucket, /^is "Media_Files"; expected an S3 bucket name/);
  assert.match(byPath.dnsRecord, /^is "apex"; expected one of "host", "wildcard"/);
  assert.match(byPath.verifyTimeoutSeconds, /^is 1\.5; expected a whole number, from 1 to 3600/);
  assert.match(byPath.e2SecretAccessKey, /^is not set/);
  assert.match(caught.message, /nothing was registered/);
  // Only the stack itself, which runInMockStack registers before the program runs.
  assert.deepEqual(
    record.registrations.map((r) => r.type),
    ["pulumi:pulumi:Stack"],
  );
});

test("an Output for a field that shapes the resource graph is refused, naming the field", () => {
  const args = minimalArgs({ verify: pulumi.output(true) as unknown as boolean });
  assert.throws(
    () => settingsFromArgs(args),
    (e: unknown) =>
      pulumi.InputPropertiesError.isInstance(e) &&
      e.errors.length === 1 &&
      e.errors[0].propertyPath === "verify" &&
      /is an Output; expected a plain value/.test(e.errors[0].reason),
  );
});

test("a push with Mastodon's key refused by the stack config is refused as args too", () => {
  const args = minimalArgs({
    pushMastodonEnv: true,
    verify: false,
    mastodonHost: { host: "mastodon.example.social", user: "mastodon" },
    mastodonHostSshKey: SECRET_VALUES.mastodonHostSshKey,
  });
  assert.throws(
    () => settingsFromArgs(args),
    (e: unknown) =>
      pulumi.InputPropertiesError.isInstance(e) &&
      ["verify", "mastodonAccessKeyId", "mastodonHost.hostKey"].every((p) =>
        e.errors.some((x) => x.propertyPath === p && /pushMastodonEnv/.test(x.reason)),
      ) &&
      !e.message.includes(SECRET_VALUES.mastodonHostSshKey),
  );
});

test("mastodonEnvExtra given as an Output is checked when it resolves, with the stack config's words", async () => {
  const extra = (value: Record<string, string>) => () =>
    settingsFromArgs(minimalArgs({ mastodonEnvExtra: pulumi.output(value) }))
      .mastodonEnvExtra as pulumi.Output<unknown>;
  assert.deepEqual(await settle(extra({ S3_READ_TIMEOUT: "30" })), { value: { S3_READ_TIMEOUT: "30" } });
  const { error } = (await settle(extra({ S3_BUCKET: "other" }))) as { error: Error };
  assert.ok(pulumi.InputPropertiesError.isInstance(error), String(error));
  assert.match(error.message, /mastodonEnvExtra\.S3_BUCKET is set by the program itself/);
  assert.doesNotMatch(error.message, /nothing was registered/);
});

test("a secret Output key that resolves empty fails when it resolves, naming the argument, never a value", async () => {
  const { error } = (await settle(
    () =>
      settingsFromArgs(minimalArgs({ e2SecretAccessKey: pulumi.secret("") })).e2Credentials.secretAccessKey,
  )) as { error: Error };
  assert.ok(pulumi.InputPropertiesError.isInstance(error), String(error));
  assert.match(error.message, /e2SecretAccessKey is not set/);
});

test("Mastodon's key given as an Output equal to the program's is refused for a push when the keys resolve", async () => {
  const make = () =>
    settingsFromArgs(
      minimalArgs({
        e2AccessKeyId: pulumi.output(SECRET_VALUES.e2AccessKeyId),
        mastodonAccessKeyId: pulumi.output(SECRET_VALUES.e2AccessKeyId),
        mastodonSecretAccessKey: "other",
        pushMastodonEnv: true,
        mastodonHost: { host: "mastodon.example.social", user: "mastodon", hostKey: SSH_HOST_KEY },
        mastodonHostSshKey: SECRET_VALUES.mastodonHostSshKey,
      }),
    ).mastodonCredentials.accessKeyId;
  const { error } = (await settle(make)) as { error: Error };
  assert.match(String(error?.message), /mastodonAccessKeyId is the program's own key/);
  assert.ok(!error.message.includes(SECRET_VALUES.e2AccessKeyId));
});

test("plain secret args become secret Outputs and stay out of every registration in plain text", async () => {
  const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
  let media: MastodonMediaStorage | undefined;
  await runInMockStack(() => {
    media = new MastodonMediaStorage(
      "media",
      minimalArgs({
        mastodonAccessKeyId: SECRET_VALUES.mastodonAccessKeyId,
        mastodonSecretAccessKey: pulumi.secret(SECRET_VALUES.mastodonSecretAccessKey),
        cloudflareZoneId: "c".repeat(32),
      }),
    );
  });
  assert.equal(await pulumi.isSecret(media!.mastodonEnv), true);
  assert.equal(await pulumi.isSecret(media!.mediaHost), false);
  for (const [name, secret] of Object.entries(SECRET_VALUES)) {
    for (const r of record.registrations)
      assert.deepEqual(plaintextOccurrences(r.wireInputs, secret), [], `${name} in ${r.type} ${r.name}`);
  }
  assert.ok(record.registrations.some((r) => r.type === "mastodon-media:index:MastodonMediaStorage"));
});

test("the e2 console step names the region's endpoint, the CNAME and the fingerprint, or says it is done", () => {
  const facts = {
    endpoint: "s3.eu-central-2.idrivee2.com",
    cnameDomain: "*.example.social",
    certificateSha256: "ab".repeat(32),
  };
  const todo = e2ConsoleStep({ ...facts, registered: false });
  assert.match(todo, /the region whose endpoint is s3\.eu-central-2\.idrivee2\.com → Settings → Add CNAME/);
  assert.match(todo, /CNAME: \*\.example\.social/);
  assert.match(todo, new RegExp(`fingerprint must be ${"ab".repeat(32)}`));
  assert.match(e2ConsoleStep({ ...facts, registered: true }), /^Done: e2 serves the origin certificate/);
});
