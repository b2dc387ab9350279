import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { PROJECT_DIR } from "./support/program-run";
import * as pulumi from "@pulumi/pulumi";
import {
  MEDIA_CHECK_COMMAND,
  MULTIPART_CHECK_COMMAND,
  MediaCheck,
  type MediaCheckArgs,
} from "../components/media-check";
import {
  installRecordingMocks,
  isSecretWrapper,
  plaintextOccurrences,
  runInMockStack,
  type MockRunResult,
  type Registration,
} from "./support/mock-run";

const KEY_ID = "E2KEYIDFORMOCKTEST";
const SECRET = "e2-secret-for-mock-test-0123456789";
const MASTODON_KEY_ID = "MASTODONKEYIDFORMOCKTEST";
const MASTODON_SECRET = "mastodon-secret-for-mock-test-9876543210";

const baseArgs: MediaCheckArgs = {
  mediaHost: "files.example.social",
  e2Endpoint: "s3.eu-central-2.idrivee2.com",
  bucketName: "files",
  region: "eu-central-2",
  // Plain strings on purpose: the component must make them secret itself.
  accessKeyId: KEY_ID,
  secretAccessKey: SECRET,
};

/** Stands in for a resource the check must wait for (the DNS record, the custom domain). */
class Upstream extends pulumi.CustomResource {
  constructor(name: string) {
    super("cloudflare:index/dnsRecord:DnsRecord", name, { name: "files" });
  }
}

async function build(
  extra: Partial<MediaCheckArgs> = {},
  withDependency = false,
): Promise<{ r: MockRunResult; dependencyUrn?: string }> {
  const r = await installRecordingMocks({ stack: "dev", config: {}, secretKeys: [] });
  let dependencyUrn: string | undefined;
  await runInMockStack(async () => {
    const dependsOn = withDependency ? new Upstream("media-dns") : undefined;
    if (dependsOn) dependsOn.urn.apply((u) => (dependencyUrn = u));
    new MediaCheck("media-check", { ...baseArgs, ...extra }, dependsOn ? { dependsOn } : undefined);
  });
  return { r, dependencyUrn };
}

function one(r: MockRunResult, what: string): Registration {
  const [type, name] = what in NAMES ? [COMMAND, NAMES[what]] : [what, undefined];
  const found = r.registrations.filter((x) => x.type === type && (name === undefined || x.name === name));
  assert.equal(found.length, 1, `expected one ${type}, got ${found.length}`);
  return found[0];
}

const COMMAND = "command:local:Command";
/** The check's Command, and the multipart probe's. */
const CHECK = "check";
const MULTIPART = "multipart";
const NAMES: Record<string, string> = { [CHECK]: "media-check-run", [MULTIPART]: "media-check-multipart" };

test("registers the component and two Commands under it (the check, the multipart probe), named after the component", async () => {
  const { r } = await build();
  const component = one(r, "mastodon-media:verify:MediaCheck");
  assert.deepEqual(
    r.registrations.filter((x) => x.custom).map((x) => `${x.type} ${x.name}`),
    [`${COMMAND} media-check-run`, `${COMMAND} media-check-multipart`],
  );
  for (const cmd of [one(r, CHECK), one(r, MULTIPART)]) assert.equal(cmd.parentUrn, component.urn);
});

test("the Command runs the checker by a path relative to the project root, with no dir in its inputs", async () => {
  const cmd = one((await build()).r, CHECK);
  assert.equal(cmd.inputs.create, "node --import tsx runtime/media-check.ts");
  assert.equal(cmd.inputs.create, MEDIA_CHECK_COMMAND);
  assert.equal(cmd.inputs.update, undefined, "without update, any input change re-runs create");
  // No dir: the command provider runs in the project root (the folder with Pulumi.yaml), where this is.
  assert.equal("dir" in cmd.inputs, false, `dir ${String(cmd.inputs.dir)}`);
  assert.ok(
    existsSync(join(PROJECT_DIR, "Pulumi.yaml")) &&
      existsSync(join(PROJECT_DIR, "runtime", "media-check.ts")),
  );
});

test("the environment carries every input the script reads, with the default time-out of 300 s", async () => {
  const cmd = one((await build()).r, CHECK);
  assert.deepEqual(cmd.inputs.environment, {
    MEDIA_HOST: "files.example.social",
    E2_ENDPOINT: "s3.eu-central-2.idrivee2.com",
    S3_BUCKET: "files",
    S3_REGION: "eu-central-2",
    VERIFY_TIMEOUT_SECONDS: "300",
    MASTODON_S3_PERMISSION: "",
    AWS_ACCESS_KEY_ID: KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET,
  });
});

test("timeoutSeconds is passed as VERIFY_TIMEOUT_SECONDS", async () => {
  const cmd = one((await build({ timeoutSeconds: pulumi.output(45) })).r, CHECK);
  assert.equal((cmd.inputs.environment as Record<string, string>).VERIFY_TIMEOUT_SECONDS, "45");
});

test("both credentials reach the Command as secrets, even when given as plain strings", async () => {
  const cmd = one((await build()).r, CHECK);
  const env = cmd.wireInputs.environment as Record<string, unknown>;
  // Each credential is wrapped on its own; the rest stays readable in previews and diffs.
  const secretKeys = Object.keys(env).filter((k) => isSecretWrapper(env[k]));
  assert.deepEqual(secretKeys.sort(), ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
});

test("Mastodon's key reaches the Command as two more secrets, only when given", async () => {
  const cmd = one(
    (await build({ mastodonAccessKeyId: MASTODON_KEY_ID, mastodonSecretAccessKey: MASTODON_SECRET })).r,
    CHECK,
  );
  const env = cmd.wireInputs.environment as Record<string, unknown>;
  assert.deepEqual(
    Object.keys(env)
      .filter((k) => isSecretWrapper(env[k]))
      .sort(),
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "MASTODON_ACCESS_KEY_ID", "MASTODON_SECRET_ACCESS_KEY"],
  );
  const plain = cmd.inputs.environment as Record<string, string>;
  assert.deepEqual(
    [plain.MASTODON_ACCESS_KEY_ID, plain.MASTODON_SECRET_ACCESS_KEY],
    [MASTODON_KEY_ID, MASTODON_SECRET],
  );
  const without = one((await build()).r, CHECK).inputs.environment as Record<string, string>;
  assert.equal(Object.keys(without).filter((k) => /^MASTODON_.*_KEY/.test(k)).length, 0);
});

test("a new Mastodon key changes the Command's inputs in its two secret entries only", async () => {
  const envOf = async (keyId: string, secret: string) =>
    one((await build({ mastodonAccessKeyId: keyId, mastodonSecretAccessKey: secret })).r, CHECK).inputs
      .environment as Record<string, string>;
  const before = await envOf(MASTODON_KEY_ID, MASTODON_SECRET);
  const after = await envOf("ROTATEDMASTODONKEYID", "rotated-mastodon-secret-000000");
  const changed = Object.keys({ ...before, ...after }).filter((k) => before[k] !== after[k]);
  assert.deepEqual(changed.sort(), ["MASTODON_ACCESS_KEY_ID", "MASTODON_SECRET_ACCESS_KEY"]);
});

test("half of Mastodon's key fails before anything is registered, naming the missing half", async () => {
  const r = await installRecordingMocks({ stack: "dev", config: {}, secretKeys: [] });
  assert.throws(
    () => new MediaCheck("media-check", { ...baseArgs, mastodonAccessKeyId: MASTODON_KEY_ID }),
    (e: Error) => pulumi.InputPropertyError.isInstance(e) && e.propertyPath === "mastodonSecretAccessKey",
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(r.registrations, []);
});

test("no registration carries any credential outside a secret", async () => {
  const { r } = await build({
    triggers: ["fingerprint"],
    mastodonAccessKeyId: MASTODON_KEY_ID,
    mastodonSecretAccessKey: MASTODON_SECRET,
  });
  for (const reg of r.registrations) {
    for (const needle of [SECRET, KEY_ID, MASTODON_SECRET, MASTODON_KEY_ID]) {
      assert.deepEqual(plaintextOccurrences(reg.wireInputs, needle), [], `${reg.type} ${reg.name}`);
    }
  }
  // Nothing else routes them: the create commands are plain text in state.
  for (const cmd of [one(r, CHECK), one(r, MULTIPART)])
    assert.ok(!String(cmd.inputs.create).includes(SECRET));
});

test("triggers are passed through in order, Outputs resolved", async () => {
  const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject" }] };
  const cmd = one(
    (
      await build({
        triggers: [pulumi.output("sha256:ab12"), JSON.stringify(policy), "s3.eu-central-2.idrivee2.com"],
      })
    ).r,
    CHECK,
  );
  assert.deepEqual(cmd.inputs.triggers, [
    "sha256:ab12",
    JSON.stringify(policy),
    "s3.eu-central-2.idrivee2.com",
  ]);
});

test("without triggers the Command gets an empty trigger list", async () => {
  assert.deepEqual(one((await build()).r, CHECK).inputs.triggers, []);
});

test("output is logged live and the previous run's output is not injected into the environment", async () => {
  const cmd = one((await build()).r, CHECK);
  assert.equal(cmd.inputs.logging, "stdoutAndStderr");
  assert.equal(cmd.inputs.addPreviousOutputInEnv, false);
});

test("the component's dependsOn is repeated on the Command", async () => {
  const { r, dependencyUrn } = await build({}, true);
  assert.ok(dependencyUrn);
  assert.ok(
    one(r, CHECK).options.dependencies.includes(dependencyUrn),
    "the Command does not wait for the DNS record",
  );
});

test("a time-out that is not a whole number of seconds from 1 to 3600 fails before anything is registered", async () => {
  const r = await installRecordingMocks({ stack: "dev", config: {}, secretKeys: [] });
  for (const bad of [0, 1.5, 3601]) {
    assert.throws(
      () => new MediaCheck("media-check", { ...baseArgs, timeoutSeconds: bad }),
      (e: Error) => pulumi.InputPropertyError.isInstance(e) && e.propertyPath === "timeoutSeconds",
      String(bad),
    );
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(r.registrations, []);
});

test("the multipart probe runs its script with only what the upload depends on, the key Mastodon gets as two secrets", async () => {
  const own = one(
    (await build({ mastodonAccessKeyId: MASTODON_KEY_ID, mastodonSecretAccessKey: MASTODON_SECRET })).r,
    MULTIPART,
  );
  assert.equal(own.inputs.create, MULTIPART_CHECK_COMMAND);
  assert.equal(own.inputs.create, "node --import tsx runtime/multipart-check.ts");
  assert.ok(existsSync(join(PROJECT_DIR, "runtime", "multipart-check.ts")));
  assert.equal(own.inputs.update, undefined);
  assert.equal(
    "triggers" in own.inputs,
    false,
    "no triggers: the check's triggers must not re-upload the probe",
  );
  assert.deepEqual(own.inputs.environment, {
    E2_ENDPOINT: "s3.eu-central-2.idrivee2.com",
    S3_BUCKET: "files",
    S3_REGION: "eu-central-2",
    AWS_ACCESS_KEY_ID: MASTODON_KEY_ID,
    AWS_SECRET_ACCESS_KEY: MASTODON_SECRET,
    MEDIA_CHECK_KEY_SETTING: "mastodonAccessKeyId",
    S3_MULTIPART_THRESHOLD: "15728640",
    MASTODON_S3_PERMISSION: "",
    MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS: "120",
  });
  const env = own.wireInputs.environment as Record<string, unknown>;
  assert.deepEqual(
    Object.keys(env)
      .filter((k) => isSecretWrapper(env[k]))
      .sort(),
    ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
  );
  // Sharing the program's key: that key, and failures name e2AccessKeyId.
  const shared = one((await build()).r, MULTIPART).inputs.environment as Record<string, string>;
  assert.deepEqual(
    [shared.AWS_ACCESS_KEY_ID, shared.AWS_SECRET_ACCESS_KEY, shared.MEDIA_CHECK_KEY_SETTING],
    [KEY_ID, SECRET, "e2AccessKeyId"],
  );
});

test("the multipart probe's inputs do not change with the media host, time-out or triggers, but do with the threshold", async () => {
  const envOf = async (extra: Partial<MediaCheckArgs>) =>
    JSON.stringify(one((await build(extra)).r, MULTIPART).inputs);
  const base = await envOf({});
  assert.equal(
    await envOf({
      mediaHost: "media.example.social",
      timeoutSeconds: 60,
      triggers: ["new-cert-fingerprint"],
    }),
    base,
  );
  assert.notEqual(await envOf({ multipartThresholdBytes: 104857600 }), base);
});

test("the multipart probe runs after the check", async () => {
  const { r } = await build();
  assert.ok(one(r, MULTIPART).options.dependencies.includes(one(r, CHECK).urn));
});

test("a multipart threshold below 5 MiB or not whole fails before anything is registered", async () => {
  const r = await installRecordingMocks({ stack: "dev", config: {}, secretKeys: [] });
  for (const bad of [5242879, 15.5e6 + 0.5]) {
    assert.throws(
      () => new MediaCheck("media-check", { ...baseArgs, multipartThresholdBytes: bad }),
      (e: Error) => pulumi.InputPropertyError.isInstance(e) && e.propertyPath === "multipartThresholdBytes",
      String(bad),
    );
  }
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(r.registrations, []);
});
