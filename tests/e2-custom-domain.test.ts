// The E2CustomDomain provider, driven method by method as the dynamic-provider host drives it, against real
// TLS servers on 127.0.0.1 that choose their certificate by SNI (an e2 endpoint before and after "Add CNAME").
// Then: the provider as Pulumi serializes it (from tsx's and from TypeScript's own emit), run by Pulumi's
// dynamic-provider host in a fresh Node process over gRPC; and the resource's registration under mocks.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as pulumi from "@pulumi/pulumi";
import * as ts from "typescript";
import {
  CNAME_BUNDLE_COMMAND,
  E2CustomDomain,
  E2_CUSTOM_DOMAIN_TYPE,
  MAX_WAIT_SECONDS,
  POLL_FIRST_INTERVAL_MS,
  makeE2CustomDomainProvider,
  type E2CustomDomainInputs,
  type E2CustomDomainOutputs,
  type InitFailureError,
} from "../providers/e2-custom-domain";
import {
  makeCertificate,
  refusedPort,
  startSilentServer,
  startSniServer,
  type SniServer,
  type TestCertificate,
} from "./support/tls-servers";
import {
  initFailureDetail as hostInitFailureDetail,
  providerProto,
  startDynamicProviderHost,
  type DynamicProviderHost,
} from "./support/dynamic-provider-host";
import { HANG_LIMIT_MS } from "./support/hang-limit";

// Probes of servers that answer get time-outs a busy machine cannot reach (a loopback handshake takes
// milliseconds, but not always); only polling is quicker than the program's, to keep waiting tests short.
const POLL_FAST = { pollFirstIntervalMs: 100, pollMaxIntervalMs: 400 };
const provider = makeE2CustomDomainProvider({
  connectTimeoutMs: HANG_LIMIT_MS,
  handshakeTimeoutMs: HANG_LIMIT_MS,
  ...POLL_FAST,
});
// A short handshake time-out, used only against a server that accepts and never answers: there it can only
// fire as it should, however busy the machine.
const SILENT_HANDSHAKE_TIMEOUT_MS = 400;
const SERIALIZED = "/* serialized provider text */";
const pulumiRequire = createRequire(require.resolve("@pulumi/pulumi"));

type ProviderInputs = E2CustomDomainInputs & { __provider?: string };

let endpointCert: TestCertificate; // e2's own certificate, served for names nobody registered
let origin: TestCertificate; // the stack's origin certificate for example.test and *.example.test
let otherOrigin: TestCertificate; // another certificate for the same names (an older one, or a mix-up)
let server: SniServer;

/**
 * `pulumi up` loads the program through ts-node, i.e. TypeScript's own CommonJS emit, where imports become
 * plain module objects (tsx, used by these tests, emits getters instead). So the provider is also serialized
 * from that emit, in a child process: the providers compiled with TypeScript into a temporary directory,
 * loaded by plain `node`, serialized with Pulumi's own closure serializer. Started at once and awaited by its
 * test, because loading @pulumi/pulumi and serializing take seconds.
 */
async function serializeFromTypeScriptEmit(): Promise<{ text: string; containsSecrets: boolean }> {
  const dir = mkdtempSync(join(tmpdir(), "e2-custom-domain-"));
  try {
    for (const name of ["e2-custom-domain", "tls-probe"]) {
      const source = readFileSync(join(__dirname, "..", "providers", `${name}.ts`), "utf8");
      const { outputText } = ts.transpileModule(source, {
        fileName: `${name}.ts`,
        compilerOptions: {
          module: ts.ModuleKind.CommonJS,
          target: ts.ScriptTarget.ES2022,
          esModuleInterop: true,
        },
      });
      writeFileSync(join(dir, `${name}.js`), outputText);
    }
    const serialize = String.raw`
      const pulumi = require("@pulumi/pulumi");
      const { e2CustomDomainProvider } = require(process.argv[1]);
      pulumi.runtime.serializeFunction(() => e2CustomDomainProvider, { allowSecrets: true }).then((sf) => {
        process.stdout.write(JSON.stringify({ text: sf.text, containsSecrets: sf.containsSecrets }));
      });`;
    const run = await runNode(
      ["--no-experimental-strip-types", "-e", serialize, join(dir, "e2-custom-domain.js")],
      "",
      { NODE_PATH: join(__dirname, "..", "node_modules") },
    );
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
let compiledSerialization: Promise<{ text: string; containsSecrets: boolean }>;
let hostStarting: Promise<DynamicProviderHost>;

before(async () => {
  compiledSerialization = serializeFromTypeScriptEmit();
  compiledSerialization.catch(() => undefined); // awaited (and reported) by its own test
  hostStarting = startDynamicProviderHost(); // started early too: it loads @pulumi/pulumi
  hostStarting.catch(() => undefined);
  endpointCert = makeCertificate(["s3.region.e2.test"]);
  origin = makeCertificate(["example.test", "*.example.test"]);
  otherOrigin = makeCertificate(["example.test", "*.example.test"]);
  server = await startSniServer(endpointCert);
  server.register("*.example.test", origin);
});
after(async () => {
  await server.close();
  (await hostStarting.catch(() => undefined))?.close();
});

function inputs(port: number, overrides: Partial<ProviderInputs> = {}): ProviderInputs {
  return {
    endpoint: `127.0.0.1:${port}`,
    hostname: "files.example.test",
    cnameDomain: "*.example.test",
    certificatePem: origin.certificatePem,
    privateKeyPem: origin.privateKeyPem,
    waitSeconds: 0,
    __provider: SERIALIZED,
    ...overrides,
  };
}

async function initFailure(run: () => Promise<unknown>): Promise<InitFailureError> {
  try {
    await run();
  } catch (e) {
    return e as InitFailureError;
  }
  assert.fail("expected the call to fail as 'created but not initialised'");
}

/** Every place the key could leak from an error: message, reasons, recorded properties. */
function assertNoKey(error: InitFailureError, key: string) {
  const everything = JSON.stringify({
    message: error.message,
    reasons: error.reasons,
    properties: error.properties,
  });
  const keyBody = key.split("\n").filter((line) => line && !line.startsWith("-----"));
  assert.ok(!everything.includes("PRIVATE KEY"), "a PEM key header appears in the error");
  for (const line of keyBody) assert.ok(!everything.includes(line), "a line of the key appears in the error");
}

describe("check", () => {
  it("accepts valid inputs and defaults waitSeconds to 0", async () => {
    const { waitSeconds: _omitted, ...rest } = inputs(443);
    const result = await provider.check!({} as ProviderInputs, rest as ProviderInputs);
    assert.deepEqual(result.failures, []);
    assert.equal(result.inputs?.waitSeconds, 0);
  });

  it("rejects a hostname that is not exactly one label under cnameDomain", async () => {
    for (const hostname of ["files.other.test", "a.files.example.test", "example.test"]) {
      const result = await provider.check!({} as ProviderInputs, inputs(443, { hostname }));
      assert.equal(result.failures?.[0]?.property, "hostname", hostname);
      assert.match(result.failures![0]!.reason, /not covered by cnameDomain "\*\.example\.test"/);
    }
  });

  it("rejects a cnameDomain that is not a wildcard domain", async () => {
    const result = await provider.check!({} as ProviderInputs, inputs(443, { cnameDomain: "example.test" }));
    assert.deepEqual(
      result.failures?.map((f) => f.property),
      ["cnameDomain"],
    );
  });

  it("rejects waitSeconds that is negative, fractional or above the maximum", async () => {
    for (const waitSeconds of [-1, 1.5, MAX_WAIT_SECONDS + 1, "10" as unknown as number]) {
      const result = await provider.check!({} as ProviderInputs, inputs(443, { waitSeconds }));
      assert.deepEqual(
        result.failures?.map((f) => f.property),
        ["waitSeconds"],
        String(waitSeconds),
      );
      assert.match(result.failures![0]!.reason, /whole number of seconds from 0 to 3600/);
    }
  });

  it("rejects an endpoint with a scheme or a path", async () => {
    const cases: [string, RegExp][] = [
      ["https://s3.eu-central-2.idrivee2.com", /not a URL: drop the scheme/],
      ["s3.eu-central-2.idrivee2.com/bucket", /without path/],
      ["s3.eu-central-2.idrivee2.com:70000", /port must be 1-65535/],
    ];
    for (const [endpoint, reason] of cases) {
      const result = await provider.check!({} as ProviderInputs, inputs(443, { endpoint }));
      assert.equal(result.failures?.[0]?.property, "endpoint", endpoint);
      assert.match(result.failures![0]!.reason, reason);
    }
  });

  it("rejects a certificate that does not cover the hostname", async () => {
    const result = await provider.check!(
      {} as ProviderInputs,
      inputs(443, { certificatePem: endpointCert.certificatePem, privateKeyPem: endpointCert.privateKeyPem }),
    );
    assert.deepEqual(
      result.failures?.map((f) => f.property),
      ["certificatePem"],
    );
    assert.match(result.failures![0]!.reason, /does not cover hostname "files\.example\.test"/);
  });

  it("rejects a key that is not the certificate's, without quoting the key", async () => {
    const result = await provider.check!(
      {} as ProviderInputs,
      inputs(443, { privateKeyPem: otherOrigin.privateKeyPem }),
    );
    assert.deepEqual(result.failures, [
      { property: "privateKeyPem", reason: "privateKeyPem is not the key of certificatePem" },
    ]);
    const garbled = await provider.check!(
      {} as ProviderInputs,
      inputs(443, { privateKeyPem: "secret-ish text" }),
    );
    assert.deepEqual(garbled.failures, [
      { property: "privateKeyPem", reason: "privateKeyPem is not a PEM private key" },
    ]);
  });

  it("does not judge values that are unknown during preview", async () => {
    const unknown = pulumi.runtime.unknownValue as string;
    const result = await provider.check!(
      {} as ProviderInputs,
      inputs(443, { certificatePem: unknown, privateKeyPem: unknown, endpoint: unknown }),
    );
    assert.deepEqual(result.failures, []);
  });
});

describe("create", () => {
  it("records a registered domain when e2 serves exactly the origin certificate for the media host", async () => {
    const started = Date.now();
    const result = await provider.create(inputs(server.port));
    const ended = Date.now();
    assert.equal(result.id, `*.example.test@127.0.0.1:${server.port}`);
    const outs = result.outs!;
    assert.equal(outs.registered, true);
    assert.equal(outs.expectedCertificateSha256, origin.sha256);
    assert.equal(outs.servedCertificateSha256, origin.sha256);
    assert.equal(outs.checkError, "");
    assert.equal(outs.privateKeyPem, origin.privateKeyPem);
    assert.ok(!("__provider" in outs), "the host adds __provider itself");
    const checkedAt = Date.parse(outs.checkedAt);
    assert.ok(checkedAt >= started && checkedAt <= ended, `checkedAt ${outs.checkedAt} is during the create`);
  });

  it("fails as created-but-not-initialised when e2 serves its default certificate (no CNAME yet)", async () => {
    const unregistered = makeCertificate(["unregistered.test", "*.unregistered.test"]);
    const error = await initFailure(() =>
      provider.create(
        inputs(server.port, {
          hostname: "files.unregistered.test",
          cnameDomain: "*.unregistered.test",
          certificatePem: unregistered.certificatePem,
          privateKeyPem: unregistered.privateKeyPem,
        }),
      ),
    );
    assert.equal(error.id, `*.unregistered.test@127.0.0.1:${server.port}`);
    assert.equal(error.properties.registered, false);
    assert.equal(error.properties.servedCertificateSha256, endpointCert.sha256);
    assert.equal(error.properties.expectedCertificateSha256, unregistered.sha256);
    assert.equal(error.properties.__provider, SERIALIZED, "read/update/delete rebuild the provider from it");
    assert.equal(error.reasons.length, 2);
    for (const text of [error.message, error.reasons.join("\n")]) {
      assert.match(
        text,
        /e2 console → Regions → the region whose endpoint is 127\.0\.0\.1 → Settings → Add CNAME/,
      );
      assert.match(text, /CNAME: \*\.unregistered\.test/);
      assert.ok(text.includes(unregistered.sha256), "names the expected fingerprint");
      assert.ok(text.includes(endpointCert.sha256), "names the fingerprint actually served");
      assert.ok(
        text.includes(CNAME_BUNDLE_COMMAND) && CNAME_BUNDLE_COMMAND === "npm run --silent cname-bundle",
      );
      assert.match(text, /Run `pulumi up` again/);
    }
    assertNoKey(error, unregistered.privateKeyPem);
  });

  it("produces an init failure the host can encode: plain JSON values only", async () => {
    const port = await refusedPort();
    const error = await initFailure(() => provider.create(inputs(port)));
    // The dynamic-provider host passes `properties` to this very conversion; undefined values would throw.
    const { Struct } = pulumiRequire("google-protobuf/google/protobuf/struct_pb");
    assert.deepEqual(Struct.fromJavaScript(error.properties).toJavaScript(), error.properties);
    assert.ok(!("privateKeyPem" in error.properties));
    assert.deepEqual(Object.keys(error.properties).sort(), [
      "__provider",
      "certificatePem",
      "checkError",
      "checkedAt",
      "cnameDomain",
      "endpoint",
      "expectedCertificateSha256",
      "hostname",
      "registered",
      "servedCertificateSha256",
      "waitSeconds",
    ]);
  });

  it("succeeds when the registration appears while it is still waiting (within waitSeconds)", async () => {
    const late = await startSniServer(endpointCert);
    try {
      // Registered once the first probe's handshake is done (it got the default certificate): an event, not
      // a moment, so a busy machine cannot make the first probe see the registration. waitSeconds is only an
      // upper bound here; the create returns as soon as a probe sees the origin certificate.
      void late.waitForHandshakes(1).then(() => late.register("*.example.test", origin));
      const result = await provider.create(inputs(late.port, { waitSeconds: MAX_WAIT_SECONDS }));
      assert.equal(result.outs?.registered, true);
      await late.idle();
      assert.ok(
        late.stats.handshakes >= 2,
        "the first probe saw the default certificate, a later one the origin's",
      );
    } finally {
      await late.close();
    }
  });

  it("fails naming both fingerprints when e2 serves a different certificate for the domain", async () => {
    const stale = await startSniServer(endpointCert);
    stale.register("*.example.test", otherOrigin);
    try {
      const error = await initFailure(() => provider.create(inputs(stale.port)));
      assert.equal(error.properties.servedCertificateSha256, otherOrigin.sha256);
      assert.match(
        error.message,
        new RegExp(`served another certificate \\(SHA-256 ${otherOrigin.sha256}\\)`),
      );
      assert.ok(error.message.includes(origin.sha256));
      assertNoKey(error, origin.privateKeyPem);
    } finally {
      await stale.close();
    }
  });

  it("fails with the connection error when the endpoint refuses, after polling for waitSeconds", async () => {
    const port = await refusedPort();
    const started = Date.now();
    const error = await initFailure(() => provider.create(inputs(port, { waitSeconds: 1 })));
    const elapsed = Date.now() - started;
    assert.match(String(error.properties.checkError), /ECONNREFUSED/);
    assert.match(error.message, /after waiting 1 s/);
    // A lower bound only: a busy machine makes it later, never sooner. That polling stops at waitSeconds is
    // counted in the dynamic-provider host test below.
    assert.ok(elapsed >= 1_000, `took ${elapsed} ms`);
  });

  it("ends on the handshake time-out when the endpoint accepts and never answers", async () => {
    const silent = await startSilentServer();
    const short = makeE2CustomDomainProvider({
      connectTimeoutMs: HANG_LIMIT_MS,
      handshakeTimeoutMs: SILENT_HANDSHAKE_TIMEOUT_MS,
      ...POLL_FAST,
    });
    try {
      const started = Date.now();
      const error = await initFailure(() => short.create(inputs(silent.port)));
      const elapsed = Date.now() - started;
      assert.equal(silent.accepted(), 1);
      assert.match(String(error.properties.checkError), /timed out after 400 ms/);
      // It waited the whole time-out; nothing but that time-out could end it (the server never answers).
      assert.ok(elapsed >= SILENT_HANDSHAKE_TIMEOUT_MS - 50, `took ${elapsed} ms`);
    } finally {
      await silent.close();
    }
  });
});

describe("update", () => {
  it("accepts a rotated certificate once e2 serves it, keeping the resource id", async () => {
    const rotated = await startSniServer(endpointCert);
    rotated.register("*.example.test", otherOrigin);
    try {
      const olds = (await provider.create(inputs(server.port))).outs!;
      const news = inputs(rotated.port, {
        certificatePem: otherOrigin.certificatePem,
        privateKeyPem: otherOrigin.privateKeyPem,
      });
      const result = await provider.update!("the-id", { ...olds, __provider: SERIALIZED }, news);
      assert.equal(result.outs?.registered, true);
      assert.equal(result.outs?.expectedCertificateSha256, otherOrigin.sha256);
    } finally {
      await rotated.close();
    }
  });

  it("fails with the existing id while e2 still serves the previous certificate", async () => {
    const olds = (await provider.create(inputs(server.port))).outs!;
    const news = inputs(server.port, {
      certificatePem: otherOrigin.certificatePem,
      privateKeyPem: otherOrigin.privateKeyPem,
      __provider: "new serialized text",
    });
    const error = await initFailure(() =>
      provider.update!("the-id", { ...olds, __provider: SERIALIZED }, news),
    );
    assert.equal(error.id, "the-id");
    assert.equal(error.properties.__provider, "new serialized text");
    assert.equal(error.properties.servedCertificateSha256, origin.sha256);
    // In place first; remove and add only as the fallback, with the interruption it causes said plainly.
    assert.match(
      error.message,
      /already listed with an older certificate \(rotation, adoption\): if the console lets you edit that entry, replace its certificate and key there, which should not interrupt media\./,
    );
    assert.match(
      error.message,
      /If it offers only remove and add: print the bundle first, then remove the entry and add it again at once\. Until it is saved, e2 has no certificate for files\.example\.test: Cloudflare answers 526 for media not in its cache/,
    );
    assertNoKey(error, otherOrigin.privateKeyPem);
  });
});

describe("diff", () => {
  let registeredOuts: E2CustomDomainOutputs;
  before(async () => {
    registeredOuts = (await provider.create(inputs(server.port))).outs!;
  });

  it("reports no change when only __provider differs (re-serialized provider code)", async () => {
    const result = await provider.diff!(
      "id",
      { ...registeredOuts, __provider: "old text" },
      inputs(server.port, { __provider: "new text" }),
    );
    assert.equal(result.changes, false);
  });

  it("reports a new certificate as an update, not a replacement", async () => {
    const result = await provider.diff!(
      "id",
      { ...registeredOuts, __provider: SERIALIZED },
      inputs(server.port, {
        certificatePem: otherOrigin.certificatePem,
        privateKeyPem: otherOrigin.privateKeyPem,
      }),
    );
    assert.deepEqual(result, { changes: true, replaces: [], deleteBeforeReplace: false });
  });

  it("reports each real input as a change", async () => {
    const changes: Partial<ProviderInputs>[] = [
      { endpoint: "127.0.0.2:443" },
      { hostname: "media.example.test" },
      { cnameDomain: "*.Example.test" },
      { waitSeconds: 5 },
    ];
    for (const change of changes) {
      const result = await provider.diff!(
        "id",
        { ...registeredOuts, __provider: SERIALIZED },
        inputs(server.port, change),
      );
      assert.equal(result.changes, true, JSON.stringify(change));
      assert.deepEqual(result.replaces, []);
    }
  });

  it("asks for an update while the last check found the domain unregistered", async () => {
    const result = await provider.diff!(
      "id",
      { ...registeredOuts, registered: false, __provider: SERIALIZED },
      inputs(server.port),
    );
    assert.equal(result.changes, true);
  });

  it("asks for an update when the registration was removed in the console since the last run", async () => {
    const removed = await startSniServer(endpointCert);
    try {
      const result = await provider.diff!(
        "id",
        { ...registeredOuts, endpoint: `127.0.0.1:${removed.port}`, __provider: SERIALIZED },
        inputs(removed.port),
      );
      assert.equal(result.changes, true);
    } finally {
      await removed.close();
    }
  });

  it("costs exactly one handshake and sends nothing else for an unchanged, registered domain", async () => {
    const own = await startSniServer(endpointCert);
    own.register("*.example.test", origin);
    try {
      const olds = { ...registeredOuts, endpoint: `127.0.0.1:${own.port}`, __provider: SERIALIZED };
      const checked = await provider.check!(olds, inputs(own.port));
      const result = await provider.diff!("id", olds, checked.inputs!);
      await own.idle(); // the probe's connection is closed: its handshake and any bytes are counted
      assert.equal(result.changes, false);
      assert.equal(own.stats.handshakes, 1);
      assert.equal(own.stats.applicationBytesReceived, 0);
    } finally {
      await own.close();
    }
  });
});

describe("read (refresh)", () => {
  it("reports drift when the certificate is replaced, then removed, in the console", async () => {
    const e2 = await startSniServer(endpointCert);
    e2.register("*.example.test", origin);
    try {
      const created = await provider.create(inputs(e2.port));
      const state = { ...created.outs!, __provider: SERIALIZED };

      e2.register("*.example.test", otherOrigin);
      const replaced = await provider.read!(created.id, state);
      assert.equal(replaced.id, created.id);
      assert.equal(replaced.props?.registered, false);
      assert.equal(replaced.props?.servedCertificateSha256, otherOrigin.sha256);
      assert.equal(replaced.props?.expectedCertificateSha256, origin.sha256);
      assert.equal(replaced.props?.privateKeyPem, origin.privateKeyPem, "the key stays in state");

      e2.unregister("*.example.test");
      const removed = await provider.read!(created.id, state);
      assert.equal(removed.props?.registered, false);
      assert.equal(removed.props?.servedCertificateSha256, endpointCert.sha256);
    } finally {
      await e2.close();
    }
  });

  it("re-checks a resource recorded by an init failure (no key in its outputs) without inventing one", async () => {
    const port = await refusedPort();
    const error = await initFailure(() => provider.create(inputs(port)));
    const result = await provider.read!(
      error.id,
      error.properties as unknown as ProviderInputs & E2CustomDomainOutputs,
    );
    assert.equal(result.props?.registered, false);
    assert.ok(!("privateKeyPem" in result.props!));
    assert.ok(!("__provider" in result.props!), "the host re-adds __provider itself");
  });
});

describe("delete", () => {
  it("succeeds without contacting the endpoint (nothing remote can be removed without an API)", async () => {
    const own = await startSniServer(endpointCert);
    try {
      const state = {
        ...(await provider.create(inputs(server.port))).outs!,
        endpoint: `127.0.0.1:${own.port}`,
      };
      await provider.delete!("id", { ...state, __provider: SERIALIZED });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(own.stats.handshakes, 0);
    } finally {
      await own.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------------
// The provider as Pulumi stores it: serialized text, run by @pulumi/pulumi's own dynamic-provider host
// (cmd/dynamic-provider) in a fresh, plain `node` process (no tsx, no type stripping, none of this
// project's relative imports), spoken to over gRPC the way the engine speaks to it.

/* eslint-disable @typescript-eslint/no-explicit-any -- the generated gRPC/protobuf modules are untyped here */
const { Struct } = pulumiRequire("google-protobuf/google/protobuf/struct_pb");

/** The ErrorResourceInitFailed detail the host packs into a failed Create/Update, as the engine unpacks it. */
function initFailureDetail(error: any): {
  id: string;
  properties: Record<string, unknown>;
  reasons: string[];
} {
  const detail = hostInitFailureDetail(error);
  assert.ok(detail, `no init-failure details on the error: ${error.message}`);
  return detail;
}

/** Checks the serialized text, then drives it through the real host: check, create, diff, create, read, delete. */
async function assertRunsInDynamicProviderHost(host: DynamicProviderHost, providerText: string) {
  assert.ok(!providerText.includes(origin.privateKeyPem.split("\n")[1]!), "no key material in the closure");
  const required = [...providerText.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]);
  assert.ok(required.length > 0);
  for (const name of required) assert.match(name!, /^node:/, `serialized code requires ${name}`);

  const urn = "urn:pulumi:test::mastodon-media::pulumi-nodejs:dynamic/mastodon-media/e2:CustomDomain::media";
  const news = { ...inputs(server.port), __provider: providerText };
  const { waitSeconds: _default, ...withoutWait } = news;

  const check = new providerProto.CheckRequest();
  check.setUrn(urn);
  check.setOlds(Struct.fromJavaScript({}));
  check.setNews(Struct.fromJavaScript(withoutWait));
  const checked = await host.call("check", check);
  assert.deepEqual(checked.getFailuresList(), []);
  const checkedInputs = checked.getInputs().toJavaScript();
  assert.equal(checkedInputs.waitSeconds, 0);

  const create = new providerProto.CreateRequest();
  create.setUrn(urn);
  create.setProperties(Struct.fromJavaScript(checkedInputs));
  const created = await host.call("create", create);
  assert.equal(created.getId(), `*.example.test@127.0.0.1:${server.port}`);
  const state = created.getProperties().toJavaScript();
  assert.equal(state.registered, true);
  assert.equal(state.servedCertificateSha256, origin.sha256);
  assert.equal(state.__provider, providerText, "the host records the provider with the outputs");

  const diff = new providerProto.DiffRequest();
  diff.setId(created.getId());
  diff.setUrn(urn);
  diff.setOlds(Struct.fromJavaScript({ ...state, __provider: "text from an older compiler" }));
  diff.setNews(Struct.fromJavaScript(checkedInputs));
  const diffed = await host.call("diff", diff);
  assert.equal(diffed.getChanges(), providerProto.DiffResponse.DiffChanges.DIFF_NONE);

  const unregisteredCert = makeCertificate(["unregistered.test", "*.unregistered.test"]);
  const unregistered = new providerProto.CreateRequest();
  unregistered.setUrn(urn.replace("::media", "::other"));
  // An endpoint of its own, so that its handshakes count this create's probes only.
  const e2 = await startSniServer(endpointCert);
  unregistered.setProperties(
    Struct.fromJavaScript({
      ...checkedInputs,
      endpoint: `127.0.0.1:${e2.port}`,
      hostname: "files.unregistered.test",
      cnameDomain: "*.unregistered.test",
      certificatePem: unregisteredCert.certificatePem,
      privateKeyPem: unregisteredCert.privateKeyPem,
      waitSeconds: 1,
    }),
  );
  const started = Date.now();
  let error: unknown;
  let elapsed: number;
  try {
    error = await host.call("create", unregistered).then(
      () => assert.fail("expected an init failure"),
      (e: unknown) => e,
    );
    elapsed = Date.now() - started;
    await e2.idle();
  } finally {
    await e2.close();
  }
  const detail = initFailureDetail(error);
  assert.equal(detail.id, `*.unregistered.test@127.0.0.1:${e2.port}`);
  assert.equal(detail.properties.__provider, providerText, "read/update/delete rebuild the provider from it");
  assert.equal(detail.properties.registered, false);
  assert.equal(detail.properties.servedCertificateSha256, endpointCert.sha256);
  assert.match(detail.reasons.join("\n"), /Add CNAME/);
  assert.match((error as Error).message, /Add CNAME/);
  // Polled for waitSeconds, and no longer: the program's first pause (2 s) is cut to the deadline, so one
  // probe at the start and at most one when waitSeconds has passed. Counted, so a busy machine cannot fail it.
  assert.ok(elapsed >= 1_000, `polled for waitSeconds (${elapsed} ms)`);
  assert.ok(POLL_FIRST_INTERVAL_MS > 1_000);
  assert.ok(e2.stats.handshakes >= 1 && e2.stats.handshakes <= 2, `${e2.stats.handshakes} probes`);
  const everything = JSON.stringify(detail) + (error as Error).message;
  assert.ok(
    !everything.includes(unregisteredCert.privateKeyPem.split("\n")[1]!),
    "no key in the init failure",
  );

  const read = new providerProto.ReadRequest();
  read.setId(created.getId());
  read.setUrn(urn);
  read.setProperties(Struct.fromJavaScript(state));
  const refreshed = (await host.call("read", read)).getProperties().toJavaScript();
  assert.equal(refreshed.registered, true);
  assert.equal(refreshed.__provider, providerText);

  const remove = new providerProto.DeleteRequest();
  remove.setId(created.getId());
  remove.setUrn(urn);
  remove.setProperties(Struct.fromJavaScript(state));
  await host.call("delete", remove);
  assert.equal(host.stderr(), "", "the provider logs nothing");
}
/* eslint-enable @typescript-eslint/no-explicit-any */

function runNode(
  args: string[],
  stdin: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const { NODE_OPTIONS: _dropped, ...inherited } = process.env;
    const child = spawn(process.execPath, args, { env: { ...inherited, ...env }, stdio: "pipe" });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`child process hung for ${HANG_LIMIT_MS} ms; stderr: ${stderr}`));
    }, HANG_LIMIT_MS);
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

describe("E2CustomDomain under Pulumi mocks", () => {
  const registrations: { type: string; inputs: Record<string, unknown>; secretOutputs: string[] }[] = [];

  before(async () => {
    await pulumi.runtime.setMocks(
      {
        newResource: (args) => ({ id: `${args.name}-id`, state: args.inputs }),
        call: (args) => {
          throw new Error(`Mock not implemented: ${args.token}`);
        },
      },
      "mastodon-media",
      "test",
      false,
    );
    // Mocks never see resource options, so read additionalSecretOutputs off the registration request.
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const monitor = pulumi.runtime.getMonitor() as any;
    const register = monitor.registerResource.bind(monitor);
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    monitor.registerResource = (req: any, callback: any) => {
      const { deserializeProperties } = pulumiRequire("./runtime/rpc");
      registrations.push({
        type: req.getType(),
        inputs: deserializeProperties(req.getObject()),
        secretOutputs: req.getAdditionalsecretoutputsList(),
      });
      return register(req, callback);
    };
  });

  it("registers one dynamic resource with the key secret, in additionalSecretOutputs, and waitSeconds 0", async () => {
    const domain = new E2CustomDomain("media", {
      endpoint: "s3.eu-central-2.idrivee2.com",
      hostname: "files.example.test",
      cnameDomain: "*.example.test",
      certificatePem: origin.certificatePem,
      privateKeyPem: origin.privateKeyPem,
    });
    await new Promise((resolve) => domain.urn.apply(resolve));

    assert.equal(registrations.length, 1);
    const [registration] = registrations;
    assert.equal(registration!.type, E2_CUSTOM_DOMAIN_TYPE);
    assert.equal(E2_CUSTOM_DOMAIN_TYPE, "pulumi-nodejs:dynamic/mastodon-media/e2:CustomDomain");
    assert.deepEqual(registration!.secretOutputs, ["privateKeyPem"]);
    assert.deepEqual(registration!.inputs.privateKeyPem, {
      [pulumi.runtime.specialSigKey]: pulumi.runtime.specialSecretSig,
      value: origin.privateKeyPem,
    });
    assert.equal(registration!.inputs.certificatePem, origin.certificatePem, "the certificate is not secret");
    assert.equal(registration!.inputs.waitSeconds, 0);
    for (const output of [
      "registered",
      "expectedCertificateSha256",
      "servedCertificateSha256",
      "checkedAt",
    ]) {
      assert.ok(!(output in registration!.inputs), `${output} is an output, not an input`);
    }
    assert.equal(typeof registration!.inputs.__provider, "string", "the serialized provider is not a secret");
  });

  it("rejects arguments known at construction before registering anything", () => {
    const before = registrations.length;
    assert.throws(
      () =>
        new E2CustomDomain("bad", {
          endpoint: "https://s3.eu-central-2.idrivee2.com",
          hostname: "files.other.social",
          cnameDomain: "*.example.social",
          certificatePem: pulumi.output(origin.certificatePem),
          privateKeyPem: pulumi.secret(origin.privateKeyPem),
          waitSeconds: -5,
        }),
      (e: unknown) => {
        assert.ok(pulumi.InputPropertiesError.isInstance(e));
        assert.deepEqual(
          e.errors.map((x) => x.propertyPath),
          ["endpoint", "hostname", "waitSeconds"],
        );
        return true;
      },
    );
    assert.equal(registrations.length, before);
  });

  it("serializes a provider that runs in Pulumi's dynamic-provider host, in a fresh Node process", async () => {
    const providerText = registrations[0]?.inputs.__provider;
    assert.equal(typeof providerText, "string");
    await assertRunsInDynamicProviderHost(await hostStarting, providerText as string);
  });
});

describe("E2CustomDomain compiled the way `pulumi up` compiles it", () => {
  it("serializes from TypeScript's CommonJS output into a provider that runs in the dynamic-provider host", async () => {
    const { text, containsSecrets } = await compiledSerialization;
    assert.equal(containsSecrets, false);
    assert.ok(!text.includes("tls_probe_1 = require"), "no relative require in the serialized text");
    await assertRunsInDynamicProviderHost(await hostStarting, text);
  });
});
