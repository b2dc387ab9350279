import { test } from "node:test";
import * as assert from "node:assert/strict";
import * as pulumi from "@pulumi/pulumi";
import { CloudflareMediaHost, type CloudflareMediaHostArgs } from "../components/cloudflare-media-host";
import { EDGE_RULE_GROUPS, edgeRules } from "../components/edge-rules";
import { legacyMediaRedirectRule } from "../components/legacy-media-redirect";
import { CLOUDFLARE_RULE_TYPE } from "../providers/cloudflare-rule";
import { runProgram } from "./support/program-run";
import { minimalConfig } from "./support/stack-config";
import {
  installRecordingMocks,
  plaintextOccurrences,
  runInMockStack,
  type InvokeAnswers,
  type MockRunResult,
  type Registration,
} from "./support/mock-run";

const ZONE = "0123456789abcdef0123456789abcdef";
const CONFIGURED_ZONE = "fedcba9876543210fedcba9876543210";
const RECORD_ID = "1".repeat(32);
const ORIGIN = "s3.eu-central-2.idrivee2.com";

const T = {
  component: "mastodon-media:cloudflare:MediaHost",
  record: "cloudflare:index/dnsRecord:DnsRecord",
  key: "tls:index/privateKey:PrivateKey",
  csr: "tls:index/certRequest:CertRequest",
  cert: "cloudflare:index/originCaCertificate:OriginCaCertificate",
  aop: "cloudflare:index/authenticatedOriginPullsSettings:AuthenticatedOriginPullsSettings",
  rule: CLOUDFLARE_RULE_TYPE,
  getZone: "cloudflare:index/getZone:getZone",
};

function baseArgs(): CloudflareMediaHostArgs {
  return {
    domain: "example.social",
    mediaHost: "files.example.social",
    stack: "test",
    originHost: ORIGIN,
    dnsRecord: "host",
    originCertificate: { keyType: "rsa", validityDays: 5475, generation: 1 },
    authenticatedOriginPulls: false,
    edgeRules: { ssl: true, cache: true, headers: true, methods: true },
  };
}

interface Built {
  record: MockRunResult;
  host: CloudflareMediaHost;
  /** Registration name → retainOnDelete as sent (the shared recorder does not keep it). */
  retainOnDelete: Map<string, boolean>;
  /** Errors the program would die of: Pulumi's run loop reports unhandled rejections the same way. */
  failures: unknown[];
}

/** Builds the component under recording mocks. */
async function build(change: (a: CloudflareMediaHostArgs) => void = () => {}): Promise<Built> {
  const invokes: InvokeAnswers = {
    [T.getZone]: (a) => ({ ...a, id: ZONE, zoneId: ZONE, name: "example.social" }),
  };
  const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [], invokes });
  const retainOnDelete = new Map<string, boolean>();
  type Req = { getName(): string; getRetainondelete(): boolean | undefined };
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: Req, cb: unknown): unknown;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    retainOnDelete.set(req.getName(), req.getRetainondelete() ?? false);
    return register(req, cb);
  };

  const failures: unknown[] = [];
  const runnerListeners = process.listeners("unhandledRejection");
  process.removeAllListeners("unhandledRejection");
  process.on("unhandledRejection", (e) => failures.push(e));
  const args = baseArgs();
  change(args);
  let host!: CloudflareMediaHost;
  try {
    await runInMockStack(() => {
      host = new CloudflareMediaHost("media", args);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
  } finally {
    process.removeAllListeners("unhandledRejection");
    for (const l of runnerListeners) process.on("unhandledRejection", l);
  }
  return { record, host, retainOnDelete, failures };
}

// Building takes a few hundred milliseconds under mocks, so each distinct setup is built once and shared by
// the tests that only read from it.
const built = new Map<string, Promise<Built>>();
function scenario(key: string, change?: (a: CloudflareMediaHostArgs) => void): Promise<Built> {
  if (!built.has(key)) built.set(key, build(change));
  return built.get(key)!;
}
const ECC_ONE_YEAR = (a: CloudflareMediaHostArgs) => {
  a.originCertificate.keyType = "ecc";
  a.originCertificate.validityDays = 365;
};
const BARE = (a: CloudflareMediaHostArgs) => {
  a.authenticatedOriginPulls = false;
  a.edgeRules = { ssl: false, cache: false, headers: false, methods: false };
};
const GENERATION_2 = (a: CloudflareMediaHostArgs) => (a.originCertificate.generation = 2);

function all(r: MockRunResult, type: string): Registration[] {
  return r.registrations.filter((x) => x.type === type);
}
function one(r: MockRunResult, type: string): Registration {
  const found = all(r, type);
  assert.equal(found.length, 1, `expected one ${type}, got ${found.length}`);
  return found[0];
}
const value = <T>(o: pulumi.Output<T>) => new Promise<T>((resolve) => o.apply(resolve));
const noFailures = (b: Built) => assert.deepEqual(b.failures, []);

test("without a configured zone ID the zone is looked up by the domain name", async () => {
  const b = await scenario("default");
  noFailures(b);
  const lookups = b.record.invokes.filter((i) => i.token === T.getZone);
  assert.equal(lookups.length, 1);
  assert.deepEqual(lookups[0].args.filter, { name: "example.social" });
  assert.equal(one(b.record, T.record).inputs.zoneId, ZONE);
  assert.equal(await value(b.host.zoneId), ZONE);
});

test("a configured zone ID is used as given and no zone lookup is made", async () => {
  const b = await scenario("zone configured", (a) => {
    a.zoneId = CONFIGURED_ZONE;
    a.authenticatedOriginPulls = true;
  });
  noFailures(b);
  assert.equal(b.record.invokes.filter((i) => i.token === T.getZone).length, 0);
  for (const type of [T.record, T.aop])
    assert.equal(one(b.record, type).inputs.zoneId, CONFIGURED_ZONE, type);
  for (const rule of all(b.record, T.rule)) assert.equal(rule.inputs.zoneId, CONFIGURED_ZONE);
});

test("the DNS record is a proxied CNAME for the media host only, automatic TTL, pointing at the e2 endpoint", async () => {
  const b = await scenario("default");
  assert.deepEqual(one(b.record, T.record).inputs, {
    zoneId: ZONE,
    name: "files.example.social",
    type: "CNAME",
    content: ORIGIN,
    proxied: true,
    ttl: 1,
  });
  assert.equal(await value(b.host.dnsRecordName), "files.example.social");
});

test("dnsRecord wildcard makes the record *.<domain>, otherwise the same", async () => {
  const b = await scenario("wildcard", (a) => (a.dnsRecord = "wildcard"));
  const record = one(b.record, T.record);
  assert.equal(record.inputs.name, "*.example.social");
  assert.equal(record.inputs.content, ORIGIN);
  assert.equal(record.inputs.proxied, true);
  assert.equal(await value(b.host.dnsRecordName), "*.example.social");
});

test("an RSA origin key is 2048 bits and gets an origin-rsa certificate", async () => {
  const b = await scenario("default");
  assert.deepEqual(one(b.record, T.key).inputs, { algorithm: "RSA", rsaBits: 2048 });
  assert.equal(one(b.record, T.cert).inputs.requestType, "origin-rsa");
});

test("an ECC origin key is ECDSA P-256 and gets an origin-ecc certificate", async () => {
  const b = await scenario("ecc, one year", ECC_ONE_YEAR);
  assert.deepEqual(one(b.record, T.key).inputs, { algorithm: "ECDSA", ecdsaCurve: "P256" });
  assert.equal(one(b.record, T.cert).inputs.requestType, "origin-ecc");
});

test("the CSR is for the domain and its wildcard, signed with the origin key", async () => {
  const b = await scenario("default");
  const csr = one(b.record, T.csr);
  const key = one(b.record, T.key);
  assert.deepEqual(csr.inputs.dnsNames, ["example.social", "*.example.social"]);
  assert.deepEqual(csr.inputs.subject, { commonName: "example.social" });
  assert.match(String(csr.inputs.privateKeyPem), /mock-key-of-media-origin-key/);
  assert.ok(csr.options.dependencies.includes(key.urn));
});

test("the certificate covers the domain and its wildcard, from the CSR, for the requested validity", async () => {
  const b = await scenario("ecc, one year", ECC_ONE_YEAR);
  const cert = one(b.record, T.cert);
  assert.deepEqual(cert.inputs, {
    csr: "-----BEGIN CERTIFICATE REQUEST-----\nmock-csr-of-media-origin-csr\n-----END CERTIFICATE REQUEST-----\n",
    hostnames: ["example.social", "*.example.social"],
    requestType: "origin-ecc",
    requestedValidity: 365,
  });
  assert.ok(cert.options.dependencies.includes(one(b.record, T.csr).urn));
});

test("a refresh cannot make the certificate be replaced: its hostnames and validity are ignored after creation", async () => {
  const b = await scenario("default");
  assert.deepEqual(one(b.record, T.cert).options.ignoreChanges.sort(), ["hostnames", "requestedValidity"]);
  // Rotation still works: the trigger is not ignored.
  assert.equal(one(b.record, T.cert).options.replacementTrigger, 1);
});

test("the origin private key is secret everywhere it goes", async () => {
  const b = await scenario("default");
  const key = one(b.record, T.key);
  for (const out of ["privateKeyPem", "privateKeyOpenssh", "privateKeyPemPkcs8"]) {
    assert.ok(key.options.additionalSecretOutputs.includes(out), out);
  }
  const csr = one(b.record, T.csr);
  assert.deepEqual(csr.secretInputs, ["privateKeyPem"]);
  assert.ok(csr.options.additionalSecretOutputs.includes("privateKeyPem"));
  for (const r of b.record.registrations) {
    assert.deepEqual(plaintextOccurrences(r.wireInputs, "mock-key-of-media-origin-key"), [], r.name);
  }
  assert.equal(await pulumi.isSecret(b.host.originPrivateKeyPem), true);
  assert.match(await value(b.host.originPrivateKeyPem), /mock-key-of-media-origin-key/);
});

test("the certificate and its expiry are public outputs, next to the CNAME domain for e2's console", async () => {
  const b = await scenario("default");
  assert.equal(await pulumi.isSecret(b.host.originCertificatePem), false);
  assert.match(await value(b.host.originCertificatePem), /mock-cert-of-media-origin-cert/);
  assert.equal(await value(b.host.originCertificateExpiresOn), "2041-11-20 12:00:00 +0000 UTC");
  assert.equal(b.host.cnameDomain, "*.example.social");
});

test("Authenticated Origin Pulls, when switched on, is set for the zone and left on if the stack goes away", async () => {
  const b = await scenario("aop on", (a) => (a.authenticatedOriginPulls = true));
  const aop = one(b.record, T.aop);
  assert.deepEqual(aop.inputs, { zoneId: ZONE, enabled: true });
  assert.equal(b.retainOnDelete.get(aop.name), true);
});

test("with authenticatedOriginPulls off the zone setting is not registered at all", async () => {
  const b = await scenario("default");
  assert.equal(all(b.record, T.aop).length, 0);
  assert.equal(b.host.authenticatedOriginPulls, undefined);
});

test("each rule group is one rule of ours in its phase, sent exactly as edge-rules.ts defines it", async () => {
  const b = await scenario("default");
  noFailures(b);
  const rules = all(b.record, T.rule);
  assert.equal(rules.length, EDGE_RULE_GROUPS.length);
  for (const w of edgeRules("test", "files.example.social", baseArgs().edgeRules)) {
    const r = rules.find((x) => x.inputs.phase === w.phase)!;
    assert.ok(r, w.phase);
    assert.equal(r.name, `media-rule-${w.group}`);
    const { __provider: provider, rulesetId: _r, ruleId: _i, ...inputs } = r.inputs;
    assert.equal(typeof provider, "string");
    assert.deepEqual(inputs, {
      zoneId: ZONE,
      phase: w.phase,
      ref: w.ref,
      description: w.description,
      expression: w.expression,
      action: w.action,
      ...(w.action_parameters ? { actionParameters: w.action_parameters } : {}),
      enabled: true,
    });
    assert.equal(b.host.rules[w.group]?.urn !== undefined, true);
  }
});

test("no Cloudflare ruleset is registered and the zone's rulesets are never listed", async () => {
  const b = await scenario("default");
  assert.equal(all(b.record, "cloudflare:index/ruleset:Ruleset").length, 0);
  assert.deepEqual(
    b.record.invokes.map((i) => i.token),
    [T.getZone],
  );
});

test("no secret or token is among a rule's inputs", async () => {
  const b = await scenario("default");
  for (const r of all(b.record, T.rule)) {
    assert.deepEqual(r.secretInputs, [], r.name);
    assert.ok(!Object.keys(r.inputs).some((k) => /token|key|secret/i.test(k)), r.name);
  }
});

test("every rule sent to Cloudflare starts with exactly the media host", async () => {
  const b = await scenario("default");
  for (const r of all(b.record, T.rule)) {
    const host = '(http.host eq "files.example.social")';
    const expression = String(r.inputs.expression);
    assert.ok(expression === host || expression.startsWith(`${host} and `), r.name);
  }
});

for (const group of EDGE_RULE_GROUPS) {
  test(`switching ${group} off removes its rule and keeps the others`, async () => {
    const b = await scenario(`${group} off`, (a) => (a.edgeRules[group] = false));
    assert.deepEqual(
      all(b.record, T.rule)
        .map((r) => r.name)
        .sort(),
      EDGE_RULE_GROUPS.filter((g) => g !== group)
        .map((g) => `media-rule-${g}`)
        .sort(),
    );
    assert.equal(b.host.rules[group], undefined);
  });
}

test("with every rule group off there is no rule", async () => {
  const b = await scenario("bare", BARE);
  assert.equal(all(b.record, T.rule).length, 0);
});

test("legacyMediaRedirect adds one rule of ours in the redirect phase, sent exactly as legacy-media-redirect.ts defines it", async () => {
  const b = await scenario("redirect", (a) => (a.legacyMediaRedirect = { instanceHost: "example.social" }));
  noFailures(b);
  const rules = all(b.record, T.rule);
  assert.equal(rules.length, EDGE_RULE_GROUPS.length + 1);
  const wanted = legacyMediaRedirectRule("test", "example.social", "files.example.social");
  const redirects = rules.filter((r) => r.inputs.phase === "http_request_dynamic_redirect");
  assert.equal(redirects.length, 1);
  assert.equal(redirects[0].name, "media-rule-legacy-media-redirect");
  const { __provider: _p, rulesetId: _r, ruleId: _i, ...inputs } = redirects[0].inputs;
  assert.deepEqual(inputs, {
    zoneId: ZONE,
    phase: wanted.phase,
    ref: wanted.ref,
    description: wanted.description,
    expression: wanted.expression,
    action: "redirect",
    actionParameters: wanted.action_parameters,
    enabled: true,
  });
  assert.equal(redirects[0].parentUrn, one(b.record, T.component).urn);
  assert.ok(b.host.legacyMediaRedirectRule);
  // The media-host rules are the same as without the redirect.
  const others = rules.filter((r) => r !== redirects[0]).map((r) => r.inputs.ref);
  assert.deepEqual(
    others.sort(),
    edgeRules("test", "files.example.social", baseArgs().edgeRules)
      .map((r) => r.ref)
      .sort(),
  );
});

test("without legacyMediaRedirect no redirect rule is registered", async () => {
  const b = await scenario("default");
  assert.equal(
    all(b.record, T.rule).filter((r) => r.inputs.phase === "http_request_dynamic_redirect").length,
    0,
  );
  assert.equal(b.host.legacyMediaRedirectRule, undefined);
});

test("with the DNS record held no record is registered, while the certificate and the rules are", async () => {
  const b = await scenario("held", (a) => (a.holdDnsRecord = true));
  noFailures(b);
  assert.equal(all(b.record, T.record).length, 0);
  assert.equal(b.host.dnsRecord, undefined);
  assert.equal(all(b.record, T.cert).length, 1);
  assert.equal(all(b.record, T.rule).length, EDGE_RULE_GROUPS.length);
  assert.equal(await value(b.host.dnsRecordName), "files.example.social");
  // Released (the default), the record is there.
  assert.equal(all((await scenario("default")).record, T.record).length, 1);
});

test("without adoption nothing is imported", async () => {
  const b = await scenario("default");
  for (const r of b.record.registrations) assert.equal(r.options.importId, "", r.name);
});

test("adopting the DNS record imports it by <zone ID>/<record ID> with the inputs a new record would get", async () => {
  const fresh = await scenario("zone configured", (a) => {
    a.zoneId = CONFIGURED_ZONE;
    a.authenticatedOriginPulls = true;
  });
  const adopted = await build((a) => {
    a.zoneId = CONFIGURED_ZONE;
    a.adopt = { dnsRecordId: RECORD_ID };
  });
  noFailures(adopted);
  const record = one(adopted.record, T.record);
  assert.equal(record.options.importId, `${CONFIGURED_ZONE}/${RECORD_ID}`);
  // zoneId is the only input that forces a replacement; it is the zone of the import ID.
  assert.equal(record.inputs.zoneId, CONFIGURED_ZONE);
  assert.deepEqual(record.inputs, one(fresh.record, T.record).inputs);
  assert.equal(record.options.deleteBeforeReplace, false);
});

test("raising the generation changes the replacement trigger of key, CSR and certificate only", async () => {
  const first = await scenario("default");
  const second = await scenario("generation 2", GENERATION_2);
  for (const type of [T.key, T.csr, T.cert]) {
    assert.equal(one(first.record, type).options.replacementTrigger, 1, type);
    assert.equal(one(second.record, type).options.replacementTrigger, 2, type);
  }
  for (const type of [T.record, T.aop, T.rule]) {
    for (const r of all(second.record, type)) assert.equal(r.options.replacementTrigger, undefined, r.name);
  }
  // Same key parameters: the trigger alone drives the rotation.
  assert.deepEqual(one(first.record, T.key).inputs, one(second.record, T.key).inputs);
});

test("rotation creates the new key, CSR and certificate before deleting the old ones", async () => {
  const b = await scenario("generation 2", GENERATION_2);
  for (const type of [T.key, T.csr, T.cert]) {
    assert.equal(one(b.record, type).options.deleteBeforeReplace, false, type);
  }
});

test("child resources are parented to the component and named after it", async () => {
  const b = await scenario("aop on", (a) => (a.authenticatedOriginPulls = true));
  const component = one(b.record, T.component);
  assert.equal(component.name, "media");
  const children = b.record.registrations.filter((r) => r.parentUrn === component.urn);
  assert.equal(
    children.length,
    b.record.registrations.length - 2,
    "only the stack and the component are not children",
  );
  assert.deepEqual(children.map((r) => r.name).sort(), [
    "media-aop",
    "media-origin-cert",
    "media-origin-csr",
    "media-origin-key",
    "media-record",
    "media-rule-cache",
    "media-rule-headers",
    "media-rule-methods",
    "media-rule-ssl",
  ]);
  for (const child of children) assert.equal(child.parentUrn, component.urn, child.name);
});

// Each case: a change that breaks one argument, and the property path the error must name.
const BAD_ARGS: [string, (a: CloudflareMediaHostArgs) => void, string][] = [
  ["an unknown dnsRecord mode", (a) => ((a as { dnsRecord: string }).dnsRecord = "cname"), "dnsRecord"],
  [
    "an unknown key type",
    (a) => ((a.originCertificate as { keyType: string }).keyType = "dsa"),
    "originCertificate.keyType",
  ],
  [
    "a validity Cloudflare does not offer",
    (a) => (a.originCertificate.validityDays = 100),
    "originCertificate.validityDays",
  ],
  ["generation zero", (a) => (a.originCertificate.generation = 0), "originCertificate.generation"],
  ["a fractional generation", (a) => (a.originCertificate.generation = 1.5), "originCertificate.generation"],
  ["a zone ID that is too short", (a) => (a.zoneId = "0123456789abcdef"), "zoneId"],
  ["a zone ID in upper case", (a) => (a.zoneId = ZONE.toUpperCase()), "zoneId"],
  ["a zone ID with a non-hex character", (a) => (a.zoneId = "g" + ZONE.slice(1)), "zoneId"],
  [
    "a ruleset adoption (no longer offered)",
    (a) => {
      a.zoneId = ZONE;
      a.adopt = { rulesets: { http_config_settings: "2".repeat(32) } } as never;
    },
    "adopt.rulesets",
  ],
  ["an empty stack name", (a) => (a.stack = ""), "stack"],
  [
    "a DNS record adoption with a malformed ID",
    (a) => {
      a.zoneId = ZONE;
      a.adopt = { dnsRecordId: "xyz" };
    },
    "adopt.dnsRecordId",
  ],
  ["an adoption without a configured zone ID", (a) => (a.adopt = { dnsRecordId: RECORD_ID }), "zoneId"],
  [
    "an unknown rule group",
    (a) => ((a.edgeRules as unknown as Record<string, boolean>).cdn = true),
    "edgeRules.cdn",
  ],
  [
    "a rule group that is not a boolean",
    (a) => ((a.edgeRules as unknown as Record<string, unknown>).cache = "yes"),
    "edgeRules.cache",
  ],
  ["a media host outside the domain", (a) => (a.mediaHost = "files.other.social"), "mediaHost"],
  ["a media host two labels under the domain", (a) => (a.mediaHost = "a.files.example.social"), "mediaHost"],
  ["a domain in upper case", (a) => (a.domain = "Example.social"), "domain"],
  ["an origin host with a scheme", (a) => (a.originHost = `https://${ORIGIN}`), "originHost"],
  ["an origin host with a port", (a) => (a.originHost = `${ORIGIN}:443`), "originHost"],
  [
    "a redirect from an instance host outside the zone",
    (a) => (a.legacyMediaRedirect = { instanceHost: "example.org" }),
    "legacyMediaRedirect.instanceHost",
  ],
  [
    "a redirect from the media host to itself",
    (a) => (a.legacyMediaRedirect = { instanceHost: "files.example.social" }),
    "legacyMediaRedirect.instanceHost",
  ],
  [
    "a redirect from a host name that could break the expression's quotes",
    (a) => (a.legacyMediaRedirect = { instanceHost: 'example.social") or (true' }),
    "legacyMediaRedirect.instanceHost",
  ],
  [
    "a held DNS record that is also adopted",
    (a) => {
      a.zoneId = ZONE;
      a.holdDnsRecord = true;
      a.adopt = { dnsRecordId: RECORD_ID };
    },
    "adopt.dnsRecordId",
  ],
];

for (const [what, change, path] of BAD_ARGS) {
  test(`${what} is refused before anything is registered, naming ${path}`, async () => {
    const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
    const args = baseArgs();
    change(args);
    assert.throws(
      () => new CloudflareMediaHost("media", args),
      (e: unknown) => {
        assert.ok(pulumi.InputPropertiesError.isInstance(e), String(e));
        assert.ok(
          e.errors.some((x) => x.propertyPath === path),
          `${path} not in ${JSON.stringify(e.errors)}`,
        );
        assert.ok(e.message.includes(path), e.message);
        return true;
      },
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(record.registrations.length, 0);
    assert.equal(record.invokes.length, 0);
  });
}

test("every bad argument is reported at once", () => {
  const args = baseArgs();
  (args as { dnsRecord: string }).dnsRecord = "cname";
  args.zoneId = "nope";
  args.originCertificate.validityDays = 1;
  assert.throws(
    () => new CloudflareMediaHost("media", args),
    (e: unknown) =>
      pulumi.InputPropertiesError.isInstance(e) &&
      ["dnsRecord", "zoneId", "originCertificate.validityDays"].every((p) =>
        e.errors.some((x) => x.propertyPath === p),
      ),
  );
});

test("the whole program registers Authenticated Origin Pulls only when the stack switches it on", async () => {
  const off = await runProgram(minimalConfig());
  assert.equal(all(off, T.aop).length, 0);
  const on = await runProgram(minimalConfig({ authenticatedOriginPulls: "true" }));
  assert.equal(all(on, T.aop).length, 1);
});
