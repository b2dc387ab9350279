import { test } from "node:test";
import * as assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import * as path from "node:path";
import { maskEnvBlock } from "../scripts/synth";
import { placeholderFor, readStackConfig } from "../scripts/lib/stack-file";
import { PROJECT_DIR } from "./support/program-run";

test("stack files become program config: defaults applied, objects as JSON, secure values as placeholders", () => {
  const { config, secretKeys } = readStackConfig(PROJECT_DIR, "dev");
  assert.equal(config["mastodon-media:domain"], "example.social");
  assert.equal(config["mastodon-media:dnsRecord"], "host");
  assert.equal(config["mastodon-media:edgeRules"], JSON.stringify(["ssl", "cache", "headers", "methods"]));
  assert.equal(config["mastodon-media:mastodonEnvExtra"], JSON.stringify({ S3_FORCE_SINGLE_REQUEST: "true" }));
  assert.equal(config["mastodon-media:e2SecretAccessKey"], placeholderFor("mastodon-media:e2SecretAccessKey"));
  assert.ok(secretKeys.includes("mastodon-media:e2SecretAccessKey"));
  assert.ok(!secretKeys.includes("mastodon-media:domain"));
});

test("a stack without a file is reported by name", () => {
  assert.throws(() => readStackConfig(PROJECT_DIR, "no-such-instance"), /Pulumi\.no-such-instance\.yaml/);
});

test("credentials in the env block are masked, everything else kept", () => {
  assert.equal(maskEnvBlock("S3_BUCKET=files\nAWS_ACCESS_KEY_ID=abc\nAWS_SECRET_ACCESS_KEY=xyz\n"), "S3_BUCKET=files\nAWS_ACCESS_KEY_ID=[secret]\nAWS_SECRET_ACCESS_KEY=[secret]\n");
});

test("npm run synth prints the tree, policy, rules and masked env block of the dev stack", async () => {
  const tsx = path.join(PROJECT_DIR, "node_modules", ".bin", "tsx");
  const { stdout } = await promisify(execFile)(tsx, [path.join(PROJECT_DIR, "scripts", "synth.ts"), "--stack", "dev"], {
    cwd: PROJECT_DIR,
    timeout: 60_000,
  });
  assert.match(stdout, /^## Resources \(\d+\)$/m);
  assert.match(stdout, /aws:s3\/bucket:Bucket {2}mastodon-media-storage-bucket\n\s+bucket=files {2}\[protected\]/);
  assert.match(stdout, /"Action": "s3:GetObject"/);
  assert.match(stdout, /^## Cloudflare rules$/m);
  assert.match(stdout, /^S3_ALIAS_HOST=files\.example\.social$/m);
  assert.match(stdout, /^AWS_SECRET_ACCESS_KEY=\[secret\]$/m);
  assert.ok(!stdout.includes("placeholder-for-"), "an encrypted value's placeholder was printed");
});
