// `pulumi new <this repository>`: the repository is also the template (Pulumi.yaml's `template:` block). There is
// no Pulumi CLI here, so tests/support/pulumi-new.ts does to a copy what the CLI's source says it does, and the
// program then runs under mocks with the config the CLI would hand it (stack file read, secrets decrypted).
import { after, before, describe, test } from "node:test";
import * as assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import Ajv from "ajv";
import { parse as parseYaml } from "yaml";
import {
  ConfigError,
  KNOWN_KEYS,
  PROJECT_NAME,
  SECRET_KEYS,
  parseSettings,
  type RawConfig,
} from "../components/config";
import { EXAMPLE_STACK, readStackConfig } from "../tools/stack-file";
import { synth } from "../tools/synth";
import {
  OFFLINE_INVOKES,
  plaintextOccurrences,
  runProgramUnderMocks,
  type MockRunResult,
} from "./support/mock-run";
import { PassphraseSecrets } from "./support/passphrase-secrets";
import { PROJECT_DIR } from "./support/program-run";
import { gitIgnored, pulumiNew, type NewProjectAnswers, type ProjectTemplate } from "./support/pulumi-new";
import { minimalConfig } from "./support/stack-config";

// Pulumi's JSON schema for Pulumi.yaml, copied unchanged from pulumi/pulumi
// sdk/go/common/workspace/project.json (commit 1b5949891b3c, Apache-2.0); the CLI validates every Pulumi.yaml
// against it before loading (sdk/go/common/workspace/loaders.go, LoadProjectBytes → ValidateProject). It is
// written for draft 2020-12, but uses only keywords draft-07 has with the same meaning (type, properties,
// additionalProperties, oneOf, $ref into $defs, enum, const, required, if/then, items), so Ajv 6 checks it.
function projectSchemaErrors(project: unknown): string[] {
  const schema = JSON.parse(
    readFileSync(path.join(__dirname, "fixtures", "pulumi-project.schema.json"), "utf8"),
  ) as Record<string, unknown>;
  delete schema.$schema;
  const validate = new Ajv({ allErrors: true }).compile(schema);
  return validate(project) ? [] : (validate.errors ?? []).map((e) => `${e.dataPath} ${e.message}`);
}

const repositoryProject = () =>
  parseYaml(readFileSync(path.join(PROJECT_DIR, "Pulumi.yaml"), "utf8")) as {
    name: string;
    template: ProjectTemplate;
    config: Record<string, { default?: unknown; secret?: boolean }>;
  };

const CLOUDFLARE_TOKEN = "cloudflare:apiToken";

describe("the repository as a pulumi new template", () => {
  test("Pulumi.yaml, template block included, passes Pulumi's project schema", () => {
    const project = repositoryProject();
    assert.ok(project.template, "no template block");
    assert.deepEqual(projectSchemaErrors(project), []);
  });

  test("the schema check can fail: a template key Pulumi does not know is refused", () => {
    const project = repositoryProject();
    const broken = { ...project, template: { ...project.template, important2: true } };
    assert.notDeepEqual(projectSchemaErrors(broken), []);
  });

  test("the template asks for every key a first deploy needs, and the Cloudflare token", () => {
    // Required = taking it out of a valid config makes the program say it is not set.
    const valid = minimalConfig();
    const required = Object.keys(valid.values).filter((key) => {
      const { [key]: _dropped, ...values } = valid.values;
      const raw: RawConfig = { ...valid, values };
      try {
        parseSettings(raw);
        return false;
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        return err.problems.some((p) => p.startsWith(`${PROJECT_NAME}:${key} is not set`));
      }
    });
    assert.ok(required.includes("domain") && required.includes("e2AccessKeyId"), required.join(", "));
    const asked = Object.keys(repositoryProject().template.config ?? {});
    for (const key of [...required, "bucket", CLOUDFLARE_TOKEN])
      assert.ok(asked.includes(key), `the template does not ask for ${key}`);
    for (const key of asked)
      assert.ok(
        key === CLOUDFLARE_TOKEN || (KNOWN_KEYS as readonly string[]).includes(key),
        `${key} is not a setting`,
      );
  });

  test("the template's secrets are exactly the secret settings, and no default contradicts Pulumi.yaml's", () => {
    const { template, config: declared } = repositoryProject();
    for (const [key, entry] of Object.entries(template.config ?? {})) {
      const secret = key === CLOUDFLARE_TOKEN || (SECRET_KEYS as readonly string[]).includes(key);
      assert.equal(entry.secret ?? false, secret, `${key}: secret should be ${secret}`);
      assert.ok(entry.description, `${key} has no description (the prompt shows it)`);
      if (declared[key]?.secret) assert.equal(entry.secret, true, `${key} is declared secret`);
      // The CLI reads a template default as a string (apitype ProjectTemplateConfigValue.Default).
      if (entry.default !== undefined) {
        assert.equal(typeof entry.default, "string", `${key}: a template default is a string`);
        assert.equal(
          entry.default,
          String(declared[key]?.default),
          `${key}: default differs from Pulumi.yaml's`,
        );
      }
    }
    // The bucket name must be chosen: the template proposes none (e2 bucket names are shared by accounts).
    assert.equal(template.config?.bucket?.default, undefined);
  });

  test("the quickstart names the next step and the e2 console step it leads to", () => {
    const { quickstart } = repositoryProject().template;
    assert.match(quickstart ?? "", /`pulumi up`/);
    assert.match(quickstart ?? "", /npm run --silent cname-bundle/);
    assert.match(quickstart ?? "", /Add CNAME/);
  });
});

describe("pulumi new from this repository, under a project name of the user's", () => {
  const answers: NewProjectAnswers = {
    name: "social-media-storage",
    description: "",
    stack: "dev", // what `pulumi new` proposes
    template: "../mastodon-media",
    config: {
      domain: "example.net",
      bucket: "media-examplenet",
      e2Endpoint: "s3.us-west-1.idrivee2.com",
      e2AccessKeyId: "NEWKEYID000000000042",
      e2SecretAccessKey: "new-e2-secret-value-0042",
      mastodonAccessKeyId: "NEWMASTODONKEY000043",
      mastodonSecretAccessKey: "new-mastodon-secret-0043",
      [CLOUDFLARE_TOKEN]: "new-cloudflare-token-0044",
    },
  };
  const secretAnswers = Object.entries(answers.config).filter(
    ([key]) => key === CLOUDFLARE_TOKEN || (SECRET_KEYS as readonly string[]).includes(key),
  );
  let dir: string;
  let secrets: PassphraseSecrets;
  let made: ReturnType<typeof pulumiNew>;
  let run: Promise<MockRunResult> | undefined;

  before(async () => {
    assert.notEqual(answers.name, PROJECT_NAME);
    dir = mkdtempSync(path.join(tmpdir(), "pulumi-new-"));
    secrets = await PassphraseSecrets.create("correct horse battery staple");
    made = pulumiNew(PROJECT_DIR, dir, answers, secrets, { skip: gitIgnored(PROJECT_DIR) });
    // In place of the `npm install` pulumi new runs.
    symlinkSync(path.join(PROJECT_DIR, "node_modules"), path.join(dir, "node_modules"), "dir");
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  // The stack as `pulumi up` would run it in the new project: the CLI decrypts the stack file and hands the
  // program its config with the secret keys marked.
  const programRun = () =>
    (run ??= (() => {
      const { config, secretKeys } = readStackConfig(dir, answers.stack, (c) => secrets.decrypt(c));
      return runProgramUnderMocks({
        programDir: dir,
        project: answers.name,
        stack: answers.stack,
        config,
        secretKeys,
        typescript: false,
        invokes: OFFLINE_INVOKES,
      });
    })());

  test("pulumi new's PROJECT and DESCRIPTION placeholders appear in no file: the copy is the program as it is", () => {
    assert.deepEqual(made.changedBySubstitution, []);
    assert.ok(existsSync(path.join(dir, "index.ts")));
    assert.ok(!existsSync(path.join(dir, ".git")));
  });

  test("the new Pulumi.yaml has the typed name, no template block, and still passes Pulumi's schema", () => {
    const project = parseYaml(readFileSync(path.join(dir, "Pulumi.yaml"), "utf8")) as Record<string, unknown>;
    assert.equal(project.name, answers.name);
    assert.equal(project.template, undefined);
    assert.deepEqual(projectSchemaErrors(project), []);
    assert.ok(made.template.config, "the copied Pulumi.yaml had no template config");
  });

  test("there is no Pulumi.dev.yaml for the new stack named dev to inherit placeholder values from", () => {
    const stackFile = parseYaml(readFileSync(made.stackFile, "utf8")) as { config: Record<string, unknown> };
    assert.deepEqual(
      Object.keys(stackFile.config).sort(),
      [
        CLOUDFLARE_TOKEN,
        ...Object.keys(answers.config)
          .filter((k) => k !== CLOUDFLARE_TOKEN)
          .map((k) => `${answers.name}:${k}`),
      ].sort(),
    );
  });

  test("the stack file holds each answer under the new project's name, secrets only as ciphertext", () => {
    const text = readFileSync(made.stackFile, "utf8");
    const { config } = parseYaml(text) as { config: Record<string, unknown> };
    assert.ok(!text.includes(`${PROJECT_NAME}:`), "a key is still in the repository's namespace");
    assert.equal(config[`${answers.name}:domain`], answers.config.domain);
    for (const [key, value] of secretAnswers) {
      assert.ok(!text.includes(value), `${key} is in the stack file in plain text`);
      const stored = config[key === CLOUDFLARE_TOKEN ? key : `${answers.name}:${key}`] as { secure: string };
      assert.equal(secrets.decrypt(stored.secure), value, `${key} does not decrypt to the answer`);
    }
  });

  test("the program run with those answers builds the stack they describe", async () => {
    const { outputs, registrations, invokes } = await programRun();
    const mediaHost = `${answers.config.bucket}.${answers.config.domain}`;
    assert.equal(outputs.mediaHost, mediaHost);
    assert.equal(outputs.mediaBaseUrl, `https://${mediaHost}`);
    assert.equal(outputs.bucketName, answers.config.bucket);
    assert.equal(outputs.e2Endpoint, answers.config.e2Endpoint);
    assert.equal(outputs.cnameDomain, `*.${answers.config.domain}`);

    const one = (type: string) => {
      const found = registrations.filter((r) => r.type === type);
      assert.equal(found.length, 1, type);
      return found[0].inputs;
    };
    const bucket = one("pulumi-nodejs:dynamic/mastodon-media/e2:Bucket");
    assert.equal(bucket.bucket, answers.config.bucket);
    assert.equal(bucket.endpoint, answers.config.e2Endpoint);
    assert.equal(bucket.region, "us-west-1");
    assert.equal(bucket.accessKeyId, answers.config.e2AccessKeyId);
    const record = one("cloudflare:index/dnsRecord:DnsRecord");
    assert.equal(record.name, mediaHost);
    assert.equal(record.content, answers.config.e2Endpoint);
    const zoneLookups = invokes.filter((i) => i.token === "cloudflare:index/getZone:getZone");
    assert.deepEqual(
      zoneLookups.map((i) => (i.args.filter as { name?: string }).name),
      [answers.config.domain],
    );
    const rules = registrations.filter(
      (r) => r.type === "pulumi-nodejs:dynamic/mastodon-media/cloudflare:Rule",
    );
    assert.deepEqual(rules.map((r) => r.name).sort(), [
      "mastodon-media-edge-rule-cache",
      "mastodon-media-edge-rule-headers",
      "mastodon-media-edge-rule-methods",
      "mastodon-media-edge-rule-ssl",
    ]);
    for (const r of rules)
      assert.ok(String(r.inputs.expression).startsWith(`(http.host eq "${mediaHost}")`), r.name);
    // Defaults the template did not ask for came from Pulumi.yaml.
    assert.equal(one("tls:index/privateKey:PrivateKey").algorithm, "RSA");
    assert.equal(one("cloudflare:index/originCaCertificate:OriginCaCertificate").requestedValidity, 5475);
  });

  test("Mastodon's env block carries the answered bucket, endpoint, media host and Mastodon's key", async () => {
    const { outputs, secretOutputs } = await programRun();
    assert.ok(secretOutputs.includes("mastodonEnv"));
    const env = outputs.mastodonEnv as string;
    assert.match(env, new RegExp(`^S3_BUCKET=${answers.config.bucket}$`, "m"));
    assert.match(
      env,
      new RegExp(`^S3_ENDPOINT=https://${answers.config.e2Endpoint.replaceAll(".", "\\.")}$`, "m"),
    );
    assert.match(env, new RegExp(`^S3_ALIAS_HOST=${answers.config.bucket}\\.example\\.net$`, "m"));
    assert.match(env, new RegExp(`^AWS_ACCESS_KEY_ID=${answers.config.mastodonAccessKeyId}$`, "m"));
    assert.match(env, new RegExp(`^AWS_SECRET_ACCESS_KEY=${answers.config.mastodonSecretAccessKey}$`, "m"));
  });

  test("no answered secret appears in plain text in a registration or a stack output", async () => {
    const { registrations, wireOutputs } = await programRun();
    for (const [key, value] of secretAnswers) {
      for (const r of registrations)
        assert.deepEqual(plaintextOccurrences(r.wireInputs, value), [], `${key} in ${r.type} ${r.name}`);
      assert.deepEqual(plaintextOccurrences(wireOutputs, value), [], `${key} in the stack outputs`);
    }
  });

  test("npm run synth's example stack fits the renamed project too (its keys carry no namespace)", async () => {
    const out: string[] = [];
    const err: string[] = [];
    await programRun(); // one program run at a time in this process
    const code = await synth([], {
      programDir: dir,
      stackDir: dir,
      stdout: (t) => out.push(t),
      stderr: (t) => err.push(t),
    });
    assert.equal(code, 0, err.join(""));
    assert.match(out.join(""), new RegExp(`stack "${EXAMPLE_STACK}"`));
    assert.match(out.join(""), /^S3_ALIAS_HOST=media-example\.example\.social$/m);
  });
});
