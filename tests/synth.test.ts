import { test } from "node:test";
import * as assert from "node:assert/strict";
import { OFFLINE_INVOKES, runProgramUnderMocks } from "./support/mock-run";
import { maskEnvBlock, renderSynth } from "../tools/synth";
import { placeholderFor, readStackConfig } from "../tools/stack-file";
import { PROJECT_DIR } from "./support/program-run";

test("stack files become program config: defaults applied, objects as JSON, secure values as placeholders", () => {
  const { config, secretKeys } = readStackConfig(PROJECT_DIR, "dev");
  assert.equal(config["mastodon-media:domain"], "example.social");
  assert.equal(config["mastodon-media:dnsRecord"], "host");
  assert.equal(config["mastodon-media:edgeRules"], JSON.stringify(["ssl", "cache", "headers", "methods"]));
  assert.equal(
    config["mastodon-media:mastodonEnvExtra"],
    JSON.stringify({ S3_FORCE_SINGLE_REQUEST: "true" }),
  );
  assert.equal(
    config["mastodon-media:e2SecretAccessKey"],
    placeholderFor("mastodon-media:e2SecretAccessKey"),
  );
  assert.ok(secretKeys.includes("mastodon-media:e2SecretAccessKey"));
  assert.ok(!secretKeys.includes("mastodon-media:domain"));
});

test("a stack without a file is reported by name", () => {
  assert.throws(() => readStackConfig(PROJECT_DIR, "no-such-instance"), /Pulumi\.no-such-instance\.yaml/);
});

test("credentials in the env block are masked, everything else kept", () => {
  assert.equal(
    maskEnvBlock("S3_BUCKET=files\nAWS_ACCESS_KEY_ID=abc\nAWS_SECRET_ACCESS_KEY=xyz\n"),
    "S3_BUCKET=files\nAWS_ACCESS_KEY_ID=[secret]\nAWS_SECRET_ACCESS_KEY=[secret]\n",
  );
});

test("synth prints the tree, policy, rules and masked env block of the dev stack", async () => {
  const { config, secretKeys } = readStackConfig(PROJECT_DIR, "dev");
  const result = await runProgramUnderMocks({
    programDir: PROJECT_DIR,
    stack: "dev",
    config,
    secretKeys,
    typescript: false,
    invokes: OFFLINE_INVOKES,
  });
  const text = renderSynth("dev", result);
  assert.match(text, /^## Resources \(\d+\)$/m);
  assert.match(
    text,
    /pulumi-nodejs:dynamic\/mastodon-media\/e2:Bucket {2}mastodon-media-storage-bucket\n\s+accessKeyId=\[secret\] {2}adopt=false {2}bucket=files .* secretAccessKey=\[secret\] {2}\[protected\]\n/,
  );
  assert.match(text, /"Action": "s3:GetObject"/);
  assert.match(
    text,
    /^http_config_settings .*\n {2}set_config {2}when \(http\.host eq "files\.example\.social"\)/m,
  );
  assert.match(text, /^S3_ALIAS_HOST=files\.example\.social$/m);
  assert.match(text, /^AWS_SECRET_ACCESS_KEY=\[secret\]$/m);
  assert.match(text, /^ {2}originPrivateKeyPem: \[secret\]$/m);
  assert.ok(!text.includes("placeholder-for-"), "an encrypted value's placeholder was printed");
});
