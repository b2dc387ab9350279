import { after, before, test } from "node:test";
import * as assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { pathToFileURL } from "node:url";
import { OFFLINE_INVOKES, runProgramUnderMocks } from "./support/mock-run";
import { maskEnvBlock, renderSynth, synth, type SynthIo } from "../tools/synth";
import { EXAMPLE_STACK, placeholderFor, readStackConfig } from "../tools/stack-file";
import { PROJECT_DIR } from "./support/program-run";
import { ConfigError, parseSettings } from "../components/config";

/** A folder with the project's Pulumi.yaml and stack files of the tests' own. */
let stackDir: string;
before(() => {
  stackDir = mkdtempSync(path.join(tmpdir(), "synth-"));
  copyFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), path.join(stackDir, "Pulumi.yaml"));
  // The example stack plus an encrypted leaf inside mastodonEnvExtra.
  const example = readFileSync(path.join(PROJECT_DIR, `Pulumi.${EXAMPLE_STACK}.yaml`), "utf8");
  writeFileSync(
    path.join(stackDir, "Pulumi.leaf.yaml"),
    `${example.trimEnd()}\n    SMTP_PASSWORD:\n      secure: v1:placeholder:smtp\n`,
  );
  // A stack of the domain, the endpoint and the program's key, plus `extra` lines.
  const minimalStack = (name: string, extra: string[]) =>
    writeFileSync(
      path.join(stackDir, `Pulumi.${name}.yaml`),
      [
        "config:",
        "  mastodon-media:domain: example.social",
        ...extra,
        "  mastodon-media:e2Endpoint: s3.eu-central-2.idrivee2.com",
        "  mastodon-media:e2AccessKeyId: {secure: v1:x}",
        "  mastodon-media:e2SecretAccessKey: {secure: v1:y}",
        "",
      ].join("\n"),
    );
  // Without a bucket-scoped Mastodon key: the program warns.
  minimalStack("shared", ["  mastodon-media:bucket: files"]);
  // No bucket: Pulumi.yaml's empty default reaches the program, which explains the choice.
  minimalStack("nobucket", []);
  writeFileSync(
    path.join(stackDir, "Pulumi.bad.yaml"),
    [
      "config:",
      "  mastodon-media:domain: files.example.social",
      "  mastodon-media:bucket: files",
      "  mastodon-media:e2region: eu-central-2",
      "  mastodon-media:e2Endpoint: s3.eu-central-2.idrivee2.com",
      "  mastodon-media:e2AccessKeyId: {secure: v1:x}",
      "  mastodon-media:e2SecretAccessKey: {secure: v1:y}",
      "  mastodon-media:edgeRules: [ssl, cors, Cache]",
      "",
    ].join("\n"),
  );
});
after(() => rmSync(stackDir, { recursive: true, force: true }));

/** synth's io, recording what it prints. */
function recordingIo(): SynthIo & { out: string; err: string } {
  const io = {
    programDir: PROJECT_DIR,
    stackDir: "",
    out: "",
    err: "",
    stdout: (text: string) => void (io.out += text),
    stderr: (text: string) => void (io.err += text),
  };
  return io;
}

test("stack files become program config: defaults applied, objects as JSON, secure values as placeholders", () => {
  const { config, secretKeys } = readStackConfig(PROJECT_DIR, EXAMPLE_STACK);
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

test("stack files are read as the CLI reads them: bare keys in the project's namespace, project values applied", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "stack-file-"));
  try {
    writeFileSync(
      path.join(dir, "Pulumi.yaml"),
      [
        "name: renamed",
        "config:",
        "  bucket: { type: string, default: files }",
        "  edgeRules: [ssl]",
        "  pulumi:tags: { value: { pulumi:template: ../mastodon-media } }",
      ].join("\n"),
    );
    writeFileSync(
      path.join(dir, "Pulumi.one.yaml"),
      "config:\n  domain: example.net\n  renamed:e2AccessKeyId:\n    secure: v1:abc\n",
    );
    const { project, config, secretKeys } = readStackConfig(dir, "one", (c) => `plain(${c})`);
    assert.equal(project, "renamed");
    assert.deepEqual(config, {
      "renamed:domain": "example.net",
      "renamed:e2AccessKeyId": "plain(v1:abc)",
      "renamed:bucket": "files",
      "renamed:edgeRules": JSON.stringify(["ssl"]),
      "pulumi:tags": JSON.stringify({ "pulumi:template": "../mastodon-media" }),
    });
    assert.deepEqual(secretKeys, ["renamed:e2AccessKeyId"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
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

test("synth prints the tree, policy, rules and masked env block of the example stack", async () => {
  const { config, secretKeys } = readStackConfig(PROJECT_DIR, EXAMPLE_STACK);
  const result = await runProgramUnderMocks({
    programDir: PROJECT_DIR,
    stack: EXAMPLE_STACK,
    config,
    secretKeys,
    typescript: false,
    invokes: OFFLINE_INVOKES,
  });
  const text = renderSynth(EXAMPLE_STACK, result);
  assert.match(text, /^## Resources \(\d+\)$/m);
  assert.match(
    text,
    /pulumi-nodejs:dynamic\/mastodon-media\/e2:Bucket {2}mastodon-media-storage-bucket\n\s+accessKeyId=\[secret\] {2}adopt=false {2}bucket=media-example .* secretAccessKey=\[secret\] {2}\[protected\]\n/,
  );
  assert.match(text, /"Action": "s3:GetObject"/);
  assert.match(
    text,
    /^http_config_settings .*\n {2}set_config {2}when \(http\.host eq "media-example\.example\.social"\)/m,
  );
  assert.match(text, /^S3_ALIAS_HOST=media-example\.example\.social$/m);
  assert.match(text, /^AWS_SECRET_ACCESS_KEY=\[secret\]$/m);
  assert.match(text, /^ {2}originPrivateKeyPem: \[secret\]$/m);
  assert.ok(!text.includes("placeholder-for-"), "an encrypted value's placeholder was printed");
});

test("synth's usage errors: an unknown argument, --stack without a name; exit 1, nothing synthesized", async () => {
  const cases: [string[], RegExp][] = [
    [["--bogus"], /^synth: unknown argument "--bogus"; usage: npm run synth \[-- --stack <name>\]\n$/],
    [["--stack"], /^synth: --stack needs a stack name; usage: npm run synth/],
    [["-s"], /^synth: -s needs a stack name; usage: npm run synth/],
    [["--stack", "--bogus"], /^synth: --stack needs a stack name; usage:/],
    [["--stack="], /^synth: --stack= needs a stack name; usage:/],
    [["--stack", EXAMPLE_STACK, "extra"], /^synth: unknown argument "extra"; usage:/],
  ];
  for (const [argv, message] of cases) {
    const io = recordingIo();
    io.stackDir = PROJECT_DIR;
    assert.equal(await synth(argv, io), 1, argv.join(" "));
    assert.match(io.err, message);
    assert.equal(io.out, "");
  }
});

test("a stack file's encrypted mastodonEnvExtra leaf is masked in the env block, and made-up outputs are marked", async () => {
  const { secretLeaves } = readStackConfig(stackDir, "leaf");
  assert.deepEqual(secretLeaves, ["mastodon-media:mastodonEnvExtra.SMTP_PASSWORD"]);
  const io = recordingIo();
  io.stackDir = stackDir;
  assert.equal(await synth(["--stack", "leaf"], io), 0, io.err);
  assert.match(io.out, /^SMTP_PASSWORD=\[secret\]$/m);
  assert.match(io.out, /^S3_FORCE_SINGLE_REQUEST=true$/m);
  assert.ok(!io.out.includes("placeholder-for-"), "an encrypted value's placeholder was printed");
  assert.match(io.out, /^ {2}zoneId: 0ff11e0{26} {2}\[placeholder\]$/m);
  assert.match(io.out, /^ {2}originCertificateExpiresOn: .* {2}\[placeholder\]$/m);
  assert.match(io.out, /^ {2}originCertificatePem: .* {2}\[placeholder\]$/m);
  assert.match(io.out, /^ {2}customDomain: .* {2}\[placeholder\]$/m);
  // The program's own values are not marked.
  assert.match(io.out, /^ {2}mediaHost: media-example\.example\.social$/m);
  assert.match(io.out, /^ {2}bucketName: media-example$/m);
});

test("npm run synth with a bad config: exit 1, each problem once, no stack trace", async () => {
  // The real command, started as npm starts it, in a folder whose stack file is invalid.
  const tsx = pathToFileURL(require.resolve("tsx")).href;
  const { NODE_OPTIONS: _dropped, ...env } = process.env;
  const child = spawn(
    process.execPath,
    ["--import", tsx, path.join(PROJECT_DIR, "tools", "synth.ts"), "--stack", "bad"],
    {
      cwd: stackDir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let out = "";
  let err = "";
  child.stdout.on("data", (d) => (out += d));
  child.stderr.on("data", (d) => (err += d));
  const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
  assert.equal(code, 1, err);
  assert.equal(out, "");
  assert.match(err, /^synth: stack "bad": Invalid stack configuration \(nothing was created or changed\):$/m);
  const problems = err.split("\n").filter((l) => l.startsWith("  - "));
  assert.equal(problems.length, 3, err);
  for (const key of ["e2region", "domain", "edgeRules"]) {
    const mentions = err.split("\n").filter((l) => l.includes(`mastodon-media:${key} `));
    assert.equal(mentions.length, 1, `${key} is reported ${mentions.length} times:\n${err}`);
  }
  assert.doesNotMatch(err, /^\s+at /m, "a stack trace was printed");
  assert.doesNotMatch(err, /Node\.js v\d+/, "the process died of an uncaught error");
});

test("a stack file without a bucket name gets Pulumi.yaml's empty default, which the program refuses with a suggested name", () => {
  const { config, secretKeys } = readStackConfig(stackDir, "nobucket");
  assert.equal(config["mastodon-media:bucket"], "");
  const prefix = "mastodon-media:";
  const raw = {
    namespace: "mastodon-media",
    values: Object.fromEntries(Object.entries(config).map(([k, v]) => [k.slice(prefix.length), v])),
    secretKeys: new Set(secretKeys.map((k) => k.slice(prefix.length))),
  };
  assert.throws(
    () => parseSettings(raw),
    (err: ConfigError) =>
      err.problems.length === 1 &&
      /^mastodon-media:bucket is not set; .*no other e2 account uses.*media-example/.test(err.problems[0]!),
  );
});

test("synth lists the program's warnings, which pulumi up prints too", async () => {
  const io = recordingIo();
  io.stackDir = stackDir;
  assert.equal(await synth(["--stack", "shared"], io), 0, io.err);
  assert.match(
    io.out,
    /^## Warnings \(`pulumi up` prints these too\)\n {2}- Mastodon gets the program's own e2 key\./m,
  );
  assert.ok(!io.err.includes("warning: [runtime]"), io.err);
  // The example stack (synth's default) has a bucket-scoped key and no mastodonHost: nothing to warn about.
  const example = recordingIo();
  example.stackDir = PROJECT_DIR;
  assert.equal(await synth([], example), 0, example.err);
  assert.ok(example.out.includes(`stack "${EXAMPLE_STACK}"`), example.out);
  assert.ok(!example.out.includes("## Warnings"), example.out);
});
