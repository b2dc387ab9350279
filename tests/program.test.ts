// The whole program, index.ts included, under mocks: what a stack registers and exports.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { parseSettings, type Settings } from "../components/config";
import { MastodonMediaStorage } from "../components/mastodon-media-storage";
import { installRecordingMocks, plaintextOccurrences, type MockRunResult } from "./support/mock-run";
import { SECRET_VALUES, minimalConfig } from "./support/stack-config";
import { runProgram } from "./support/program-run";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
const fullConfig = minimalConfig({
  mastodonAccessKeyId: SECRET_VALUES.mastodonAccessKeyId,
  mastodonSecretAccessKey: SECRET_VALUES.mastodonSecretAccessKey,
  mastodonEnvExtra: JSON.stringify({ S3_FORCE_SINGLE_REQUEST: "true", S3_MULTIPART_THRESHOLD: "104857600" }),
  mastodonHost: JSON.stringify({
    host: "mastodon.example.social",
    user: "mastodon",
    restart: "docker-compose",
    hostKey: HOST_KEY,
  }),
  mastodonHostSshKey: SECRET_VALUES.mastodonHostSshKey,
  pushMastodonEnv: "true",
});

let run: Promise<MockRunResult> | undefined;
// One program run per process: the SDK and the module cache keep state between runs.
const programRun = () => (run ??= runProgram(fullConfig));

test("the stack exports the media host, base URL, bucket and endpoint in plain text", async () => {
  const { outputs, secretOutputs } = await programRun();
  assert.equal(outputs.mediaHost, "files.example.social");
  assert.equal(outputs.mediaBaseUrl, "https://files.example.social");
  assert.equal(outputs.bucketName, "files");
  assert.equal(outputs.e2Endpoint, "s3.eu-central-2.idrivee2.com");
  for (const name of ["mediaHost", "mediaBaseUrl", "bucketName", "e2Endpoint"])
    assert.ok(!secretOutputs.includes(name), name);
});

test("mastodonEnv is a secret output holding the bucket-scoped Mastodon key, not the program's", async () => {
  const { outputs, secretOutputs } = await programRun();
  assert.ok(secretOutputs.includes("mastodonEnv"));
  const env = outputs.mastodonEnv as string;
  assert.match(env, new RegExp(`^AWS_ACCESS_KEY_ID=${SECRET_VALUES.mastodonAccessKeyId}$`, "m"));
  assert.match(env, new RegExp(`^AWS_SECRET_ACCESS_KEY=${SECRET_VALUES.mastodonSecretAccessKey}$`, "m"));
  assert.ok(!env.includes(SECRET_VALUES.e2SecretAccessKey));
  assert.match(env, /^S3_ALIAS_HOST=files\.example\.social$/m);
  assert.match(env, /^S3_FORCE_SINGLE_REQUEST=true$/m);
});

test("no secret value appears in plain text in any registration or stack output", async () => {
  const { registrations, wireOutputs } = await programRun();
  for (const [name, secret] of Object.entries(SECRET_VALUES)) {
    for (const r of registrations) {
      assert.deepEqual(
        plaintextOccurrences(r.wireInputs, secret),
        [],
        `${name} in plain text in ${r.type} ${r.name}`,
      );
    }
    assert.deepEqual(plaintextOccurrences(wireOutputs, secret), [], `${name} in plain text in stack outputs`);
  }
});

test("every resource sits under the one top-level component", async () => {
  const { registrations } = await programRun();
  const top = registrations.filter((r) => r.type === "mastodon-media:index:MastodonMediaStorage");
  assert.equal(top.length, 1);
  const stack = registrations.find((r) => r.type === "pulumi:pulumi:Stack")!;
  for (const r of registrations) {
    if (r === stack || r === top[0]) continue;
    assert.notEqual(r.parentUrn, stack.urn, `${r.type} ${r.name} is not inside the component`);
  }
});

test("the media check runs after the custom domain, policy, record and rules, and re-runs when they change", async () => {
  const { registrations } = await programRun();
  const command = registrations.find((r) => r.type === "command:local:Command")!;
  const urnOf = (type: string) => registrations.filter((r) => r.type === type).map((r) => r.urn);
  for (const type of [
    "pulumi-nodejs:dynamic/mastodon-media/e2:CustomDomain",
    "aws:s3/bucketPolicy:BucketPolicy",
    "cloudflare:index/dnsRecord:DnsRecord",
    "pulumi-nodejs:dynamic/mastodon-media/cloudflare:Rule",
  ]) {
    assert.ok(urnOf(type).length > 0, `no ${type} registered`);
    for (const urn of urnOf(type))
      assert.ok(command.options.dependencies.includes(urn), `check does not wait for ${urn}`);
  }
  const triggers = command.inputs.triggers as unknown[];
  assert.equal(triggers.length, 3);
  assert.match(String(triggers[1]), /"Action":"s3:GetObject"/);
  assert.match(String(triggers[2]), /http\.host eq \\"files\.example\.social\\"/);
});

test("the multipart probe gets the threshold and S3_PERMISSION the env block gives Mastodon, and Mastodon's own key", async () => {
  const { registrations, outputs } = await programRun();
  const probe = registrations.find(
    (r) => r.type === "command:local:Command" && r.name.endsWith("-multipart"),
  )!;
  const env = probe.inputs.environment as Record<string, string>;
  assert.match(String(outputs.mastodonEnv), /^S3_MULTIPART_THRESHOLD=104857600$/m);
  assert.match(String(outputs.mastodonEnv), /^S3_PERMISSION=$/m);
  assert.deepEqual(
    [
      env.S3_MULTIPART_THRESHOLD,
      env.MASTODON_S3_PERMISSION,
      env.AWS_ACCESS_KEY_ID,
      env.MEDIA_CHECK_KEY_SETTING,
    ],
    ["104857600", "", SECRET_VALUES.mastodonAccessKeyId, "mastodonAccessKeyId"],
  );
});

test("the env block is pushed to the Mastodon server only after the media check passed, as a secret", async () => {
  const { registrations } = await programRun();
  const push = registrations.find((r) => r.type === "command:remote:Command");
  assert.ok(push, "no remote command");
  // The check and the multipart probe: both must have passed.
  const checks = registrations.filter((r) => r.type === "command:local:Command");
  assert.equal(checks.length, 2);
  for (const check of checks) assert.ok(push.options.dependencies.includes(check.urn), check.name);
  assert.ok(push.secretInputs.includes("stdin"), "the env block must travel as a secret");
  assert.ok(push.secretInputs.includes("connection"), "the SSH key must travel as a secret");
  assert.equal((push.inputs.connection as Record<string, unknown>).hostKey, HOST_KEY);
  // Local media: public/system next to the default env file, checked against the media host.
  assert.match(
    String(push.inputs.create),
    /sh "\$mm_check" '\/home\/mastodon\/live\/public\/system' 'https:\/\/files\.example\.social' 'files'/,
  );
});

test("with mastodonHost set but pushMastodonEnv off, no remote command is registered and the block stays an output", async () => {
  const r = await programRun().then(() =>
    runProgram({ ...fullConfig, values: { ...fullConfig.values, pushMastodonEnv: "false" } }),
  );
  assert.equal(r.registrations.filter((x) => x.type.startsWith("command:remote:")).length, 0);
  assert.equal(r.registrations.filter((x) => x.type === "mastodon-media:mastodon:EnvPush").length, 0);
  assert.match(String(r.outputs.mastodonEnv), /^S3_ALIAS_HOST=files\.example\.social$/m);
});

// parseSettings refuses these configs (tests/config.test.ts) before index.ts builds anything; the component
// refuses them too, so that no other caller can register a push without the check, host key or own key.
for (const [what, change] of [
  [
    "without mastodonHost.hostKey",
    (s: Settings) => ({ ...s, mastodonHost: { ...s.mastodonHost!, hostKey: undefined } }),
  ],
  [
    "with the program's key for Mastodon",
    (s: Settings) => ({ ...s, mastodonSharesProgramKey: true, mastodonCredentials: s.e2Credentials }),
  ],
  ["with the media check off", (s: Settings) => ({ ...s, verify: { ...s.verify, enabled: false } })],
] as const) {
  test(`MastodonMediaStorage refuses a push ${what} before registering anything`, async () => {
    await programRun();
    const settings = parseSettings(fullConfig);
    const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
    assert.throws(
      () => new MastodonMediaStorage("media", change(settings)),
      (e: unknown) => pulumi.InputPropertiesError.isInstance(e) && /pushMastodonEnv/.test(e.message),
    );
    assert.deepEqual(record.registrations, []);
  });
}

test("the program's warnings are recorded by the harness: a full push config warns of nothing, mastodonHost without the push is warned about", async () => {
  assert.deepEqual((await programRun()).warnings, []);
  const { warnings } = await runProgram({
    ...fullConfig,
    values: { ...fullConfig.values, pushMastodonEnv: "false" },
  });
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(warnings[0], /^mastodonHost is set but pushMastodonEnv is not true, so nothing is pushed/);
});

test("the secret leak check does see a plain-text value (control)", () => {
  assert.deepEqual(
    plaintextOccurrences(
      { a: { b: ["x", `k=${SECRET_VALUES.e2SecretAccessKey}`] } },
      SECRET_VALUES.e2SecretAccessKey,
    ),
    ["a.b[1]"],
  );
});
