import { test } from "node:test";
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { parse as parseYaml } from "yaml";
import {
  DEFAULTS,
  KNOWN_KEYS,
  OBJECT_KEYS,
  SECRET_KEYS,
  parseSettings,
  type RawConfig,
} from "../components/config";
import { isBucketName, suggestBucketName } from "../components/config/bucket-name";
import { nearest } from "../components/config/suggest";
import { problemsOf } from "./support/config-problems";
import { SECRET_VALUES, minimalConfig } from "./support/stack-config";

const valueOf = <T>(output: pulumi.Output<T>) => new Promise<T>((resolve) => output.apply(resolve));

function assertRejected(overrides: Record<string, string | undefined>, key: string, ...fragments: string[]) {
  const problems = problemsOf(minimalConfig(overrides));
  const problem = problems.find((p) => p.startsWith(`mastodon-media:${key} `));
  assert.ok(problem, `no problem reported for ${key}; got ${JSON.stringify(problems)}`);
  for (const fragment of fragments)
    assert.ok(problem.includes(fragment), `"${problem}" should mention ${fragment}`);
  return problem;
}

test("a minimal config yields the media host from the chosen bucket, endpoint, derived region and defaults", () => {
  const s = parseSettings(minimalConfig());
  assert.equal(s.mediaHost, "files.example.social");
  assert.equal(s.bucket, "files");
  assert.equal(s.e2Endpoint, "s3.eu-central-2.idrivee2.com");
  assert.equal(s.e2Region, "eu-central-2");
  assert.equal(s.cloudflare.dnsRecord, "host");
  assert.deepEqual(s.cloudflare.originCertificate, { keyType: "rsa", validityDays: 5475, generation: 1 });
  assert.deepEqual(s.cloudflare.edgeRules, { ssl: true, cache: true, headers: true, methods: true });
  assert.equal(s.cloudflare.authenticatedOriginPulls, false);
  assert.deepEqual(s.verify, { enabled: true, timeoutSeconds: 300 });
  assert.deepEqual(s.adopt, { bucket: false });
  assert.equal(s.mastodonHost, undefined);
});

test("a leading https:// and trailing slash on the endpoint are stripped", () => {
  assert.equal(
    parseSettings(minimalConfig({ e2Endpoint: "https://s3.us-midwest-1.idrivee2.com/" })).e2Endpoint,
    "s3.us-midwest-1.idrivee2.com",
  );
});

test("an older per-account endpoint signs with us-east-1 unless e2Region is set", () => {
  assert.equal(
    parseSettings(minimalConfig({ e2Endpoint: "abcd.fra.idrivee2-22.com" })).e2Region,
    "us-east-1",
  );
  assert.equal(
    parseSettings(minimalConfig({ e2Endpoint: "abcd.fra.idrivee2-22.com", e2Region: "eu-west-4" })).e2Region,
    "eu-west-4",
  );
});

test("empty strings (Pulumi.yaml defaults for optional keys) count as unset", () => {
  const s = parseSettings(minimalConfig({ e2Region: "", cloudflareZoneId: "" }));
  assert.equal(s.e2Region, "eu-central-2");
  assert.equal(s.cloudflare.zoneId, undefined);
});

test("Mastodon gets the program's key when no bucket-scoped key is set", async () => {
  const s = parseSettings(minimalConfig());
  assert.equal(s.mastodonSharesProgramKey, true);
  assert.equal(await valueOf(s.mastodonCredentials.secretAccessKey), SECRET_VALUES.e2SecretAccessKey);
});

test("a bucket-scoped Mastodon key is used when both halves are set, and stays secret", async () => {
  const s = parseSettings(
    minimalConfig({
      mastodonAccessKeyId: SECRET_VALUES.mastodonAccessKeyId,
      mastodonSecretAccessKey: SECRET_VALUES.mastodonSecretAccessKey,
    }),
  );
  assert.equal(s.mastodonSharesProgramKey, false);
  assert.equal(await valueOf(s.mastodonCredentials.accessKeyId), SECRET_VALUES.mastodonAccessKeyId);
  assert.equal(await pulumi.isSecret(s.mastodonCredentials.secretAccessKey), true);
  assert.equal(await pulumi.isSecret(s.e2Credentials.accessKeyId), true);
});

test("edgeRules, adopt, mastodonEnvExtra and mastodonHost objects are parsed", () => {
  const s = parseSettings(
    minimalConfig({
      edgeRules: JSON.stringify(["ssl", "headers"]),
      adopt: JSON.stringify({ bucket: true, dnsRecordId: "a".repeat(32) }),
      cloudflareZoneId: "c".repeat(32),
      mastodonEnvExtra: JSON.stringify({ S3_FORCE_SINGLE_REQUEST: true, S3_READ_TIMEOUT: 30 }),
      mastodonHost: JSON.stringify({
        host: "mastodon.example.social",
        user: "mastodon",
        restart: "docker-compose",
        hostKey: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
      }),
      mastodonHostSshKey: SECRET_VALUES.mastodonHostSshKey,
    }),
  );
  assert.deepEqual(s.cloudflare.edgeRules, { ssl: true, cache: false, headers: true, methods: false });
  assert.deepEqual(s.adopt, { bucket: true, dnsRecordId: "a".repeat(32) });
  assert.deepEqual(s.mastodonEnvExtra, { S3_FORCE_SINGLE_REQUEST: "true", S3_READ_TIMEOUT: "30" });
  assert.equal(s.mastodonHost?.port, 22);
  assert.equal(s.mastodonHost?.envFile, DEFAULTS.mastodonHostEnvFile);
  assert.equal(s.mastodonHost?.restart, "docker-compose");
  assert.match(s.mastodonHost?.hostKey ?? "", /^ssh-ed25519 AAAA/);
});

test("an empty edgeRules list turns every rule group off", () => {
  assert.deepEqual(parseSettings(minimalConfig({ edgeRules: "[]" })).cloudflare.edgeRules, {
    ssl: false,
    cache: false,
    headers: false,
    methods: false,
  });
});

test("missing required keys are each named", () => {
  const problems = problemsOf(
    minimalConfig({ domain: undefined, e2Endpoint: undefined, e2SecretAccessKey: undefined }),
  );
  for (const key of ["domain", "e2Endpoint", "e2SecretAccessKey"]) {
    assert.ok(
      problems.some((p) => p.startsWith(`mastodon-media:${key} is not set`)),
      `${key} missing from ${JSON.stringify(problems)}`,
    );
  }
});

test("a domain that is not a DNS name is rejected with its value", () => {
  assertRejected({ domain: "https://example.social/" }, "domain", `"https://example.social/"`, "DNS name");
  assertRejected({ domain: "localhost" }, "domain", `"localhost"`);
  assertRejected({ domain: "exa mple.social" }, "domain");
});

test("a missing bucket is an error explaining the choice (media host label, shared names, permanent) with a suggestion from the domain", () => {
  for (const bucket of [undefined, ""]) {
    const problem = assertRejected(
      { bucket },
      "bucket",
      "is not set",
      "the media host's first label (<bucket>.example.social",
      "no other e2 account uses",
      "cannot be changed later",
      `a form like "media-example" (<something>-example): \`pulumi config set bucket media-example\``,
    );
    assert.ok(!problem.includes("undefined"), problem);
  }
  assert.ok(isBucketName(suggestBucketName("example.social")!));
  // Another domain, another suggestion; a bad domain still gets the form.
  assertRejected({ bucket: undefined, domain: "chaos.social" }, "bucket", "media-chaos");
  assertRejected(
    { bucket: undefined, domain: "bad domain" },
    "bucket",
    "<bucket>.<domain>",
    "a form like <something>-<first label of your domain>",
  );
});

test("the suggested bucket name always passes the bucket rules, or there is none", () => {
  assert.equal(suggestBucketName("example.social"), "media-example");
  assert.equal(suggestBucketName(undefined), undefined);
  // A 63-character first label is cut to fit 63 characters, with no trailing hyphen left by the cut.
  const long = `${"a".repeat(56)}-${"b".repeat(6)}.social`;
  const cut = suggestBucketName(long)!;
  assert.equal(cut.length, 62);
  assert.ok(isBucketName(cut), cut);
  assert.ok(!cut.endsWith("-"));
  // A domain so long that no label fits beside it within 253 characters gets no suggestion.
  const deep = `${Array.from({ length: 4 }, () => "c".repeat(62)).join(".")}.social`;
  assert.equal(suggestBucketName(deep), undefined);
  assert.ok(
    isBucketName(suggestBucketName("xn--bcher-kva.example")!),
    "an IDN label stays valid after media-",
  );
});

test("a bucket that is not one lowercase DNS label of 3-63 characters is rejected", () => {
  for (const bucket of ["Files", "ab", "a".repeat(64), "my.files", "-files", "files-", "files_1"]) {
    assertRejected({ bucket }, "bucket", JSON.stringify(bucket), "3-63 characters");
  }
});

test("an endpoint with another scheme, a path or a port is rejected", () => {
  assertRejected(
    { e2Endpoint: "http://s3.eu-central-2.idrivee2.com" },
    "e2Endpoint",
    `"http://s3.eu-central-2.idrivee2.com"`,
    "https",
  );
  assertRejected({ e2Endpoint: "https://s3.eu-central-2.idrivee2.com/files" }, "e2Endpoint", "no path");
  assertRejected({ e2Endpoint: "s3.eu-central-2.idrivee2.com:8443" }, "e2Endpoint", "no port");
});

test("a secret stored in plain text is rejected without echoing it", () => {
  const raw = minimalConfig();
  const plain: RawConfig = { ...raw, secretKeys: new Set(["e2AccessKeyId"]) };
  const problems = problemsOf(plain);
  const problem = problems.find((p) => p.startsWith("mastodon-media:e2SecretAccessKey "));
  assert.ok(problem?.includes("pulumi config set --secret e2SecretAccessKey"));
  assert.ok(
    !problems.join("\n").includes(SECRET_VALUES.e2SecretAccessKey),
    "the secret value leaked into the message",
  );
});

test("half a Mastodon key pair is rejected", () => {
  assertRejected(
    { mastodonAccessKeyId: SECRET_VALUES.mastodonAccessKeyId },
    "mastodonSecretAccessKey",
    "both",
  );
});

test("unknown values of choice settings are rejected naming the choices", () => {
  assertRejected({ dnsRecord: "apex" }, "dnsRecord", `"apex"`, `"host"`, `"wildcard"`);
  assertRejected({ originCertificate: "dsa" }, "originCertificate", `"dsa"`, `"rsa"`, `"ecc"`);
  assertRejected({ edgeRules: JSON.stringify(["ssl", "waf"]) }, "edgeRules", "waf");
  assertRejected({ originCertificateValidityDays: "400" }, "originCertificateValidityDays", `"400"`, "5475");
  assertRejected({ authenticatedOriginPulls: "yes" }, "authenticatedOriginPulls", `"yes"`, "true or false");
  assertRejected({ originCertificateGeneration: "0" }, "originCertificateGeneration", "at least 1");
});

test("a zone ID that is not 32 hex characters is rejected", () => {
  assertRejected(
    { cloudflareZoneId: "zone-example-social" },
    "cloudflareZoneId",
    `"zone-example-social"`,
    "32",
  );
});

test("mastodonEnvExtra may not override managed variables or carry newlines", () => {
  assertRejected(
    { mastodonEnvExtra: JSON.stringify({ S3_BUCKET: "other" }) },
    "mastodonEnvExtra.S3_BUCKET",
    "set by the program",
  );
  assertRejected({ mastodonEnvExtra: JSON.stringify({ lower: "x" }) }, "mastodonEnvExtra.lower", "uppercase");
  assertRejected(
    { mastodonEnvExtra: JSON.stringify({ S3_STORAGE_CLASS: "a\nb" }) },
    "mastodonEnvExtra.S3_STORAGE_CLASS",
    "single-line",
  );
  assertRejected({ mastodonEnvExtra: "not json" }, "mastodonEnvExtra", `"not json"`, "object");
});

test("mastodonEnvExtra refuses S3_KEY_PREFIX: public reads are granted only at Mastodon's key prefixes", () => {
  assertRejected(
    { mastodonEnvExtra: JSON.stringify({ S3_KEY_PREFIX: "instance1/" }) },
    "mastodonEnvExtra.S3_KEY_PREFIX",
    "not supported",
    "bucket of its own",
  );
});

test("mastodonEnvExtra.S3_MULTIPART_THRESHOLD must be whole bytes of at least 5 MiB (Mastodon's SDK refuses smaller parts)", () => {
  for (const bad of ["15MB", "1048576", "5242879.5"]) {
    assertRejected(
      { mastodonEnvExtra: JSON.stringify({ S3_MULTIPART_THRESHOLD: bad }) },
      "mastodonEnvExtra.S3_MULTIPART_THRESHOLD",
      JSON.stringify(bad),
      "at least 5242880",
    );
  }
  const s = parseSettings(
    minimalConfig({ mastodonEnvExtra: JSON.stringify({ S3_MULTIPART_THRESHOLD: 5242880 }) }),
  );
  assert.deepEqual(s.mastodonEnvExtra, { S3_MULTIPART_THRESHOLD: "5242880" });
});

test("adopt entries are checked: unknown fields, rulesets (no longer adopted) and malformed IDs", () => {
  assertRejected({ adopt: JSON.stringify({ zone: true }) }, "adopt.zone", "bucket, dnsRecordId");
  assertRejected(
    { adopt: JSON.stringify({ rulesets: { http_config_settings: "a".repeat(32) } }) },
    "adopt.rulesets",
    "no longer adopted",
  );
  assertRejected({ adopt: JSON.stringify({ dnsRecordId: "123" }) }, "adopt.dnsRecordId", `"123"`);
});

test("adopting the DNS record needs the zone ID", () => {
  assertRejected(
    { adopt: JSON.stringify({ dnsRecordId: "a".repeat(32) }) },
    "cloudflareZoneId",
    "adopt",
    "zone ID",
  );
  assert.equal(parseSettings(minimalConfig({ adopt: JSON.stringify({ bucket: true }) })).adopt.bucket, true);
});

test("time-outs are capped at an hour", () => {
  assertRejected({ verifyTimeoutSeconds: "3601" }, "verifyTimeoutSeconds", "from 1 to 3600");
  assertRejected({ cnameWaitSeconds: "7200" }, "cnameWaitSeconds", "from 0 to 3600");
});

test("mastodonHost needs a host, a user, a known restart mode and the SSH key secret", () => {
  assertRejected(
    { mastodonHost: JSON.stringify({ user: "mastodon" }), mastodonHostSshKey: "k" },
    "mastodonHost.host",
  );
  assertRejected(
    {
      mastodonHost: JSON.stringify({ host: "h.example", user: "mastodon", restart: "reboot" }),
      mastodonHostSshKey: "k",
    },
    "mastodonHost.restart",
    "reboot",
  );
  assertRejected(
    { mastodonHost: JSON.stringify({ host: "h.example", user: "mastodon" }) },
    "mastodonHostSshKey",
    "not set",
  );
  assertRejected(
    {
      mastodonHost: JSON.stringify({ host: "h.example", user: "m", hostKey: "AAAA" }),
      mastodonHostSshKey: "k",
    },
    "mastodonHost.hostKey",
    "ssh-ed25519",
  );
});

test("unknown keys in the namespace are rejected as typos", () => {
  assertRejected({ bukcet: "files" }, "bukcet", "not a setting");
});

test("an unknown key suggests the near setting: a case slip or a small edit, nothing for a far one", () => {
  assertRejected({ e2region: "eu-central-2" }, "e2region", "not a setting", `(did you mean "e2Region"?)`);
  assertRejected({ bukcet: "files" }, "bukcet", `(did you mean "bucket"?)`);
  assertRejected({ domian: "example.social" }, "domian", `(did you mean "domain"?)`);
  const far = assertRejected({ mediaDomain: "x" }, "mediaDomain", "not a setting", "known settings: domain");
  assert.ok(!far.includes("did you mean"), far);
});

test("a suggestion is made only when one candidate stands out", () => {
  assert.equal(nearest("ENVFILE", ["envFile", "hostKey"]), "envFile");
  assert.equal(nearest("hots", ["host", "user"]), "host");
  assert.equal(nearest("ab", ["ac", "ad"]), undefined);
  assert.equal(nearest("something", ["host", "user"]), undefined);
});

test("edgeRules with entries that are not rule groups names each of them, and the near group", () => {
  const problem = assertRejected(
    { edgeRules: JSON.stringify(["ssl", "cors", "Cache"]) },
    "edgeRules",
    `has "cors", "Cache", which are not rule groups`,
    `(did you mean "cache" for "Cache"?)`,
    `"ssl", "cache", "headers", "methods"`,
  );
  assert.ok(!problem.includes(`"ssl", "cors"`), `the whole list is echoed: ${problem}`);
  assertRejected(
    { edgeRules: JSON.stringify(["waf"]) },
    "edgeRules",
    `has "waf", which is not a rule group;`,
  );
});

test("unknown fields of object settings are reported as unknown fields, with the near field", () => {
  assertRejected(
    {
      mastodonHost: JSON.stringify({ host: "h.example", user: "mastodon", envfile: "/x" }),
      mastodonHostSshKey: "k",
    },
    "mastodonHost.envfile",
    `is an unknown field (did you mean "envFile"?); known fields of mastodonHost: host, user, port, envFile, restart, hostKey, localMediaDir.`,
  );
  const adopt = assertRejected(
    { adopt: JSON.stringify({ x: 1 }) },
    "adopt.x",
    "is an unknown field; known fields of adopt: bucket, dnsRecordId.",
  );
  assert.ok(!adopt.includes(`is "x"`), adopt);
});

test("a valid mastodonHost with a plain-text SSH key reports only that the key is in plain text", () => {
  const raw = minimalConfig({
    mastodonHost: JSON.stringify({ host: "h.example", user: "mastodon" }),
    mastodonHostSshKey: SECRET_VALUES.mastodonHostSshKey,
  });
  const plain: RawConfig = {
    ...raw,
    secretKeys: new Set([...raw.secretKeys].filter((k) => k !== "mastodonHostSshKey")),
  };
  const problems = problemsOf(plain);
  assert.equal(problems.length, 1, problems.join("\n"));
  assert.match(problems[0], /^mastodon-media:mastodonHostSshKey is stored in plain text;/);
  assert.ok(!problems[0].includes("secret-ssh-key-body"));
  // Without mastodonHost the stray key is still pointed out.
  assertRejected({ mastodonHostSshKey: "k" }, "mastodonHostSshKey", "is set but mastodonHost is not");
});

test("an originCertificateValidityDays that is not a number lists the allowed values", () => {
  assertRejected(
    { originCertificateValidityDays: "15y" },
    "originCertificateValidityDays",
    `is "15y"; expected one of 7, 30, 90, 365, 730, 1095, 5475 (days; 5475 is 15 years`,
  );
  assert.equal(
    parseSettings(minimalConfig({ originCertificateValidityDays: "90" })).cloudflare.originCertificate
      .validityDays,
    90,
  );
});

test("a domain whose first label is the bucket is flagged: domain is the zone apex", () => {
  assertRejected(
    { domain: "files.example.social", bucket: "files" },
    "domain",
    `is "files.example.social"; expected the Cloudflare zone apex (e.g. example.social), not the media host`,
    `"files.files.example.social"`,
  );
  assertRejected({ domain: "media.example.social", bucket: "media" }, "domain", "zone apex");
  // A two-label domain is an apex whatever its label, and another bucket under a deeper zone is fine.
  assert.equal(parseSettings(minimalConfig({ domain: "files.social" })).mediaHost, "files.files.social");
  assert.equal(
    parseSettings(minimalConfig({ domain: "files.example.social", bucket: "media" })).mediaHost,
    "media.files.example.social",
  );
});

test("a bad value inside a mastodonEnvExtra holding a secret is reported without the value", () => {
  const raw = minimalConfig({ mastodonEnvExtra: JSON.stringify({ SMTP_PASSWORD: "hunter2\nline" }) });
  const secret: RawConfig = {
    ...raw,
    secretKeys: new Set([...raw.secretKeys, "mastodonEnvExtra"]),
  };
  const problems = problemsOf(secret);
  const problem = problems.find((p) => p.startsWith("mastodon-media:mastodonEnvExtra.SMTP_PASSWORD "));
  assert.ok(problem?.includes("value not shown"), problems.join("\n"));
  assert.ok(!problems.join("\n").includes("hunter2"), "the secret value leaked into the message");
  const notObject: RawConfig = {
    ...raw,
    values: { ...raw.values, mastodonEnvExtra: "hunter2" },
    secretKeys: secret.secretKeys,
  };
  assert.ok(!problemsOf(notObject).join("\n").includes("hunter2"));
});

test("every problem is reported in one error", () => {
  const problems = problemsOf(minimalConfig({ domain: "bad domain", bucket: "B", dnsRecord: "x" }));
  assert.equal(problems.length, 3);
});

test("Pulumi.yaml declares every scalar key with the program's defaults, and the rest are documented", () => {
  const project = parseYaml(readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8")) as {
    config: Record<string, { type: string; default?: unknown; secret?: boolean; description?: string }>;
  };
  const declared = Object.keys(project.config);
  const optionalSecrets = SECRET_KEYS.filter((k) => !declared.includes(k));
  assert.deepEqual([...declared, ...OBJECT_KEYS, ...optionalSecrets].sort(), [...KNOWN_KEYS].sort());
  for (const key of [...OBJECT_KEYS, ...optionalSecrets]) {
    assert.match(
      readFileSync(path.join(__dirname, "..", "Pulumi.yaml"), "utf8"),
      new RegExp(`#\\s+(${key}\\b|.*\\b${key}\\b)`),
      `${key} undocumented`,
    );
  }
  for (const [key, decl] of Object.entries(project.config)) {
    assert.ok(decl.description, `${key} has no description`);
    if (key in DEFAULTS)
      assert.deepEqual(decl.default, DEFAULTS[key as keyof typeof DEFAULTS], `default of ${key}`);
    if ((SECRET_KEYS as readonly string[]).includes(key))
      assert.equal(decl.secret, true, `${key} must be declared secret`);
  }
  for (const required of ["domain", "e2Endpoint", "e2AccessKeyId", "e2SecretAccessKey"]) {
    assert.equal(project.config[required].default, undefined, `${required} must stay required`);
  }
  // The bucket's empty default only lets the program's explanation reach the operator: the CLI would stop a
  // missing key without a default first, saying only that it is missing.
  assert.equal(project.config.bucket!.default, "");
  assert.ok(!("bucket" in DEFAULTS), "the bucket name has no default");
});

const HOST = { host: "mastodon.example.social", user: "mastodon" };
const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl";
/** A config that asks for the push and has everything a push needs. */
function pushConfig(overrides: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    mastodonHost: JSON.stringify({ ...HOST, hostKey: HOST_KEY }),
    mastodonHostSshKey: SECRET_VALUES.mastodonHostSshKey,
    mastodonAccessKeyId: SECRET_VALUES.mastodonAccessKeyId,
    mastodonSecretAccessKey: SECRET_VALUES.mastodonSecretAccessKey,
    pushMastodonEnv: "true",
    ...overrides,
  };
}

test("the env push is off unless pushMastodonEnv is true, even with mastodonHost set (and then needs no hostKey)", () => {
  const s = parseSettings(
    minimalConfig({
      mastodonHost: JSON.stringify(HOST),
      mastodonHostSshKey: SECRET_VALUES.mastodonHostSshKey,
    }),
  );
  assert.equal(s.pushMastodonEnv, false);
  assert.equal(s.mastodonHost?.host, "mastodon.example.social");
  assert.equal(parseSettings(minimalConfig()).pushMastodonEnv, false);
});

test("a push with everything it needs is accepted; local media defaults to public/system beside the env file", () => {
  const s = parseSettings(minimalConfig(pushConfig()));
  assert.equal(s.pushMastodonEnv, true);
  assert.equal(s.mastodonHost?.hostKey, HOST_KEY);
  assert.equal(s.mastodonHost?.localMediaDir, "/home/mastodon/live/public/system");
  const docker = parseSettings(
    minimalConfig(
      pushConfig({
        mastodonHost: JSON.stringify({
          ...HOST,
          hostKey: HOST_KEY,
          envFile: "/srv/mastodon/.env.production",
        }),
      }),
    ),
  );
  assert.equal(docker.mastodonHost?.localMediaDir, "/srv/mastodon/public/system");
});

test("mastodonHost.localMediaDir takes an absolute path, or false to skip the local-media check", () => {
  const dirOf = (localMediaDir: unknown) =>
    parseSettings(
      minimalConfig(
        pushConfig({ mastodonHost: JSON.stringify({ ...HOST, hostKey: HOST_KEY, localMediaDir }) }),
      ),
    ).mastodonHost?.localMediaDir;
  assert.equal(dirOf("/var/lib/mastodon/system"), "/var/lib/mastodon/system");
  assert.equal(dirOf(false), undefined);
  assertRejected(
    pushConfig({
      mastodonHost: JSON.stringify({ ...HOST, hostKey: HOST_KEY, localMediaDir: "public/system" }),
    }),
    "mastodonHost.localMediaDir",
    '"public/system"',
    "absolute path",
    "false",
  );
});

test("pushMastodonEnv must be true or false, and needs mastodonHost", () => {
  assertRejected(pushConfig({ pushMastodonEnv: "yes" }), "pushMastodonEnv", '"yes"', "true or false");
  assertRejected(
    pushConfig({ mastodonHost: undefined, mastodonHostSshKey: undefined }),
    "pushMastodonEnv",
    "mastodonHost is not set",
  );
});

const hostKeyOf = (hostKey: unknown) =>
  parseSettings(minimalConfig(pushConfig({ mastodonHost: JSON.stringify({ ...HOST, hostKey }) })))
    .mastodonHost?.hostKey;

test("hostKey takes the line ssh-keyscan prints (host name, [host]:port or hashed host in front) as type and key", () => {
  const [type, key] = HOST_KEY.split(" ");
  for (const line of [
    `mastodon.example.social ${HOST_KEY}`,
    `[mastodon.example.social]:2222 ${HOST_KEY}\n`,
    `|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ${HOST_KEY}`,
    `# mastodon.example.social:22 SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\nmastodon.example.social ${HOST_KEY}\r\n`,
    `${type}  ${key}`,
  ]) {
    assert.equal(hostKeyOf(line), HOST_KEY, JSON.stringify(line));
  }
});

test("hostKey takes the server's .pub file with its comment, as ssh-keygen writes it", () => {
  assert.equal(hostKeyOf(`${HOST_KEY} root@mastodon\n`), HOST_KEY);
  const dir = mkdtempSync(path.join(tmpdir(), "host-key-"));
  try {
    const file = path.join(dir, "ssh_host_ed25519_key");
    const made = spawnSync("ssh-keygen", [
      "-q",
      "-t",
      "ed25519",
      "-N",
      "",
      "-C",
      "root@mastodon",
      "-f",
      file,
    ]);
    if (made.error) return; // no ssh-keygen here: the literal line above is the check
    const pub = readFileSync(`${file}.pub`, "utf8");
    assert.match(pub, / root@mastodon\n$/);
    assert.equal(hostKeyOf(pub), pub.split(" ").slice(0, 2).join(" "));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("hostKey that is not one SSH host key is refused, saying what is wrong and what to copy", () => {
  const ed25519Blob = HOST_KEY.split(" ")[1]!;
  for (const [value, says] of [
    ["AAAA", "names no host key type"],
    [`${HOST_KEY}\n${HOST_KEY}`, "holds 2 lines"],
    [`ssh-rsa ${ed25519Blob}`, "is a ssh-ed25519 key, not ssh-rsa"],
    ["ssh-ed25519 not*base64", "not an SSH public key in base64"],
    ["ssh-ed25519", "no key data follows ssh-ed25519"],
    [`@cert-authority ${HOST_KEY}`, "@cert-authority lines are not host keys"],
    [`host extra ${HOST_KEY}`, "more than a host name"],
  ] as const) {
    assertRejected(
      pushConfig({ mastodonHost: JSON.stringify({ ...HOST, hostKey: value }) }),
      "mastodonHost.hostKey",
      says,
      "ssh-keyscan -t ed25519 <host>",
      "ssh_host_ed25519_key.pub",
    );
  }
  assertRejected(
    pushConfig({ mastodonHost: JSON.stringify({ ...HOST, hostKey: 25519 }) }),
    "mastodonHost.hostKey",
    "it is not text",
  );
});

test("a push without mastodonHost.hostKey is refused, saying why the host key matters", () => {
  assertRejected(
    pushConfig({ mastodonHost: JSON.stringify(HOST) }),
    "mastodonHost.hostKey",
    "is not set",
    "ssh-ed25519",
    "pushMastodonEnv needs it",
  );
});

test("a push with the media check off is refused", () => {
  assertRejected(
    pushConfig({ verify: "false" }),
    "verify",
    '"false"',
    "pushMastodonEnv",
    "after the media check passed",
  );
});

test("a push of the program's own key is refused: without a Mastodon key, or with the same key ID", () => {
  assertRejected(
    pushConfig({ mastodonAccessKeyId: undefined, mastodonSecretAccessKey: undefined }),
    "mastodonAccessKeyId",
    "is not set",
    "its own key",
  );
  const problem = assertRejected(
    pushConfig({ mastodonAccessKeyId: SECRET_VALUES.e2AccessKeyId }),
    "mastodonAccessKeyId",
    "the program's own key",
    "value not shown",
  );
  assert.ok(!problem.includes(SECRET_VALUES.e2AccessKeyId));
});

test("every problem of a push is reported at once", () => {
  const problems = problemsOf(
    minimalConfig(
      pushConfig({
        mastodonHost: JSON.stringify(HOST),
        verify: "false",
        mastodonAccessKeyId: undefined,
        mastodonSecretAccessKey: undefined,
      }),
    ),
  );
  assert.deepEqual(problems.map((p) => p.split(" ")[0]).sort(), [
    "mastodon-media:mastodonAccessKeyId",
    "mastodon-media:mastodonHost.hostKey",
    "mastodon-media:verify",
  ]);
});

test("a bad mastodonHost field is reported alone, not also as mastodonHostSshKey without mastodonHost", () => {
  const problems = problemsOf(
    minimalConfig({
      mastodonHost: JSON.stringify({ ...HOST, localMediaDir: "relative" }),
      mastodonHostSshKey: SECRET_VALUES.mastodonHostSshKey,
    }),
  );
  assert.deepEqual(
    problems.map((p) => p.split(" ")[0]),
    ["mastodon-media:mastodonHost.localMediaDir"],
  );
});
