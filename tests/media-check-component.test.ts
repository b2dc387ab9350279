import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { MEDIA_CHECK_COMMAND, MediaCheck, type MediaCheckArgs } from "../components/media-check";
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

const baseArgs: MediaCheckArgs = {
  mediaHost: "files.example.social",
  e2Endpoint: "s3.eu-central-2.idrivee2.com",
  bucketName: "files",
  region: "eu-central-2",
  probeKey: "_probe/dev.txt",
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

function one(r: MockRunResult, type: string): Registration {
  const found = r.registrations.filter((x) => x.type === type);
  assert.equal(found.length, 1, `expected one ${type}, got ${found.length}`);
  return found[0];
}

const COMMAND = "command:local:Command";

test("registers the component and exactly one Command under it, named after the component", async () => {
  const { r } = await build();
  const component = one(r, "mastodon-media:verify:MediaCheck");
  const cmd = one(r, COMMAND);
  assert.equal(r.registrations.filter((x) => x.custom).length, 1);
  assert.equal(cmd.name, "media-check-run");
  assert.equal(cmd.parentUrn, component.urn);
});

test("the Command runs the checker script with node and tsx from a folder that holds it", async () => {
  const cmd = one((await build()).r, COMMAND);
  assert.equal(cmd.inputs.create, "node --import tsx runtime/media-check.ts");
  assert.equal(cmd.inputs.create, MEDIA_CHECK_COMMAND);
  assert.equal(cmd.inputs.update, undefined, "without update, any input change re-runs create");
  assert.ok(existsSync(join(String(cmd.inputs.dir), "runtime", "media-check.ts")), `dir ${cmd.inputs.dir}`);
});

test("the environment carries every input the script reads, with the default time-out of 300 s", async () => {
  const cmd = one((await build()).r, COMMAND);
  assert.deepEqual(cmd.inputs.environment, {
    MEDIA_HOST: "files.example.social",
    E2_ENDPOINT: "s3.eu-central-2.idrivee2.com",
    S3_BUCKET: "files",
    S3_REGION: "eu-central-2",
    PROBE_KEY: "_probe/dev.txt",
    VERIFY_TIMEOUT_SECONDS: "300",
    AWS_ACCESS_KEY_ID: KEY_ID,
    AWS_SECRET_ACCESS_KEY: SECRET,
  });
});

test("timeoutSeconds is passed as VERIFY_TIMEOUT_SECONDS", async () => {
  const cmd = one((await build({ timeoutSeconds: pulumi.output(45) })).r, COMMAND);
  assert.equal((cmd.inputs.environment as Record<string, string>).VERIFY_TIMEOUT_SECONDS, "45");
});

test("both credentials reach the Command as secrets, even when given as plain strings", async () => {
  const cmd = one((await build()).r, COMMAND);
  const env = cmd.wireInputs.environment as Record<string, unknown>;
  // Each credential is wrapped on its own; the rest stays readable in previews and diffs.
  const secretKeys = Object.keys(env).filter((k) => isSecretWrapper(env[k]));
  assert.deepEqual(secretKeys.sort(), ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"]);
});

test("no registration carries either credential outside a secret", async () => {
  const { r } = await build({ triggers: ["fingerprint"] });
  for (const reg of r.registrations) {
    for (const needle of [SECRET, KEY_ID]) {
      assert.deepEqual(plaintextOccurrences(reg.wireInputs, needle), [], `${reg.type} ${reg.name}`);
    }
  }
  // Nothing else routes them: the create command and dir are plain text in state.
  const cmd = one(r, COMMAND);
  assert.ok(!String(cmd.inputs.create).includes(SECRET) && !String(cmd.inputs.dir).includes(SECRET));
});

test("triggers are passed through in order, Outputs resolved", async () => {
  const policy = { Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "s3:GetObject" }] };
  const cmd = one(
    (
      await build({
        triggers: [pulumi.output("sha256:ab12"), JSON.stringify(policy), "s3.eu-central-2.idrivee2.com"],
      })
    ).r,
    COMMAND,
  );
  assert.deepEqual(cmd.inputs.triggers, [
    "sha256:ab12",
    JSON.stringify(policy),
    "s3.eu-central-2.idrivee2.com",
  ]);
});

test("without triggers the Command gets an empty trigger list", async () => {
  assert.deepEqual(one((await build()).r, COMMAND).inputs.triggers, []);
});

test("output is logged live and the previous run's output is not injected into the environment", async () => {
  const cmd = one((await build()).r, COMMAND);
  assert.equal(cmd.inputs.logging, "stdoutAndStderr");
  assert.equal(cmd.inputs.addPreviousOutputInEnv, false);
});

test("the component's dependsOn is repeated on the Command", async () => {
  const { r, dependencyUrn } = await build({}, true);
  assert.ok(dependencyUrn);
  assert.ok(
    one(r, COMMAND).options.dependencies.includes(dependencyUrn),
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
