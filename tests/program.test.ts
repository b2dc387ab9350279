// The whole program, index.ts included, under mocks: what a stack registers and exports.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { plaintextOccurrences, type MockRunResult } from "./support/mock-run";
import { SECRET_VALUES, minimalConfig } from "./support/stack-config";
import { runProgram } from "./support/program-run";

const fullConfig = minimalConfig({
  mastodonAccessKeyId: SECRET_VALUES.mastodonAccessKeyId,
  mastodonSecretAccessKey: SECRET_VALUES.mastodonSecretAccessKey,
  mastodonEnvExtra: JSON.stringify({ S3_FORCE_SINGLE_REQUEST: "true" }),
  mastodonHost: JSON.stringify({
    host: "mastodon.example.social",
    user: "mastodon",
    restart: "docker-compose",
  }),
  mastodonHostSshKey: SECRET_VALUES.mastodonHostSshKey,
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
    "cloudflare:index/ruleset:Ruleset",
  ]) {
    for (const urn of urnOf(type))
      assert.ok(command.options.dependencies.includes(urn), `check does not wait for ${urn}`);
  }
  const triggers = command.inputs.triggers as unknown[];
  assert.equal(triggers.length, 3);
  assert.match(String(triggers[1]), /"Action":"s3:GetObject"/);
  assert.match(String(triggers[2]), /http\.host eq \\"files\.example\.social\\"/);
});

test("the env block is pushed to the Mastodon server only after the media check passed, as a secret", async () => {
  const { registrations } = await programRun();
  const push = registrations.find((r) => r.type === "command:remote:Command");
  assert.ok(push, "no remote command");
  const check = registrations.find((r) => r.type === "command:local:Command")!;
  assert.ok(push.options.dependencies.includes(check.urn));
  assert.ok(push.secretInputs.includes("stdin"), "the env block must travel as a secret");
  assert.ok(push.secretInputs.includes("connection"), "the SSH key must travel as a secret");
});

test("the program's warnings are recorded by the harness: no hostKey is warned about, a scoped key is not", async () => {
  const { warnings } = await programRun();
  assert.equal(warnings.length, 1, warnings.join("\n"));
  assert.match(
    warnings[0],
    /^mastodonHost\.hostKey is not set: the SSH connection does not verify the server/,
  );
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
