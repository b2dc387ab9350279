// Day 2 on the whole program: adopting a hand-built setup imports what exists without replacing it, and
// bumping originCertificateGeneration replaces only the key → CSR → certificate chain, new before old.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import type { MockRunResult, Registration } from "./support/mock-run";
import { minimalConfig } from "./support/stack-config";
import { runProgram } from "./support/program-run";
import { E2_BUCKET_TYPE } from "../providers/e2-bucket";

const ZONE = "c".repeat(32);
const RECORD = "d".repeat(32);
const CERT_CHAIN = [
  "tls:index/privateKey:PrivateKey",
  "tls:index/certRequest:CertRequest",
  "cloudflare:index/originCaCertificate:OriginCaCertificate",
];

const byType = (r: MockRunResult, type: string): Registration[] =>
  r.registrations.filter((x) => x.type === type);
const one = (r: MockRunResult, type: string) => {
  const found = byType(r, type);
  assert.equal(found.length, 1, `one ${type}`);
  return found[0];
};

test("adopting takes the bucket over, imports the DNS record by its ID and creates the policy, keeping the bucket protected", async () => {
  const r = await runProgram(
    minimalConfig({
      cloudflareZoneId: ZONE,
      adopt: JSON.stringify({ bucket: true, dnsRecordId: RECORD }),
    }),
  );
  // The bucket is adopted by its provider (HeadBucket), not through Pulumi's import option.
  const bucket = one(r, E2_BUCKET_TYPE);
  assert.equal(bucket.inputs.adopt, true);
  assert.equal(bucket.options.importId, "");
  assert.equal(bucket.options.protect, true);
  // A console-made bucket has no policy to import; PutBucketPolicy replaces any policy the bucket had.
  assert.equal(one(r, "aws:s3/bucketPolicy:BucketPolicy").options.importId, "");
  assert.equal(one(r, "cloudflare:index/dnsRecord:DnsRecord").options.importId, `${ZONE}/${RECORD}`);
  // Rules are never imported: each finds its own rule by ref beside whatever the hand-made zone has.
  const rules = byType(r, "pulumi-nodejs:dynamic/mastodon-media/cloudflare:Rule");
  assert.equal(rules.length, 4);
  for (const rule of rules) assert.equal(rule.options.importId, "", rule.name);
  // Certificates cannot be adopted (Cloudflare never returns the key): a new one is made.
  for (const type of CERT_CHAIN) assert.equal(one(r, type).options.importId, "", type);
});

test("an adopted resource's identifying inputs are those of the thing imported, so nothing is replaced", async () => {
  const r = await runProgram(
    minimalConfig({ cloudflareZoneId: ZONE, adopt: JSON.stringify({ bucket: true, dnsRecordId: RECORD }) }),
  );
  const imported = r.registrations.filter((x) => x.options.importId);
  assert.deepEqual(
    imported.map((x) => x.type),
    ["cloudflare:index/dnsRecord:DnsRecord"],
  );
  for (const x of imported) {
    // Nothing asks the engine to replace an imported resource.
    assert.equal(x.options.deleteBeforeReplace, false, x.name);
    assert.deepEqual(x.options.replaceOnChanges, [], x.name);
    assert.equal(x.options.replacementTrigger, undefined, x.name);
  }
  const record = one(r, "cloudflare:index/dnsRecord:DnsRecord");
  assert.equal(record.inputs.zoneId, ZONE);
  assert.ok(record.options.importId.startsWith(`${record.inputs.zoneId}/`));
});

test("without adopt nothing is imported", async () => {
  const r = await runProgram(minimalConfig());
  assert.deepEqual(
    r.registrations.filter((x) => x.options.importId).map((x) => x.type),
    [],
  );
});

test("bumping originCertificateGeneration re-keys only the certificate chain, creating the new one first", async () => {
  const before = await runProgram(minimalConfig());
  const after = await runProgram(minimalConfig({ originCertificateGeneration: "2" }));
  for (const type of CERT_CHAIN) {
    assert.equal(one(before, type).options.replacementTrigger, 1, type);
    assert.equal(one(after, type).options.replacementTrigger, 2, type);
    // Create-before-delete: the old certificate stays until the new one is in place.
    assert.equal(one(after, type).options.deleteBeforeReplace, false, type);
  }
  const triggered = after.registrations
    .filter((x) => x.options.replacementTrigger !== undefined)
    .map((x) => x.type);
  assert.deepEqual(triggered.sort(), [...CERT_CHAIN].sort());
  // The custom-domain check waits for the new certificate before anything old is retired.
  const customDomain = one(after, "pulumi-nodejs:dynamic/mastodon-media/e2:CustomDomain");
  const cert = one(after, "cloudflare:index/originCaCertificate:OriginCaCertificate");
  assert.ok(customDomain.options.dependencies.includes(cert.urn));
});

test("a rotation registers the certificate under the same URN with the configured hostnames and validity, ignoreChanges on those two only", async () => {
  // The program's side of a rotation after a refresh: the engine replaces with the inputs registered here (it
  // re-checks them on a replacement; only a live run shows that, see docs/live-run-checklist.md).
  const before = await runProgram(minimalConfig());
  const after = await runProgram(
    minimalConfig({ originCertificateGeneration: "2", originCertificateValidityDays: "365" }),
  );
  const cert = (r: MockRunResult) => one(r, "cloudflare:index/originCaCertificate:OriginCaCertificate");
  assert.equal(cert(before).inputs.requestedValidity, 5475);
  assert.equal(cert(after).inputs.requestedValidity, 365);
  for (const r of [before, after]) {
    assert.deepEqual(cert(r).inputs.hostnames, ["example.social", "*.example.social"]);
    assert.deepEqual([...cert(r).options.ignoreChanges].sort(), ["hostnames", "requestedValidity"]);
  }
  assert.equal(cert(after).options.replacementTrigger, 2);
  // Same URN in both generations: the engine sees a replacement of the same resource, not a new one.
  assert.equal(cert(after).urn, cert(before).urn);
});

test("the media bucket is protected in every configuration, so a stack destroy cannot delete media", async () => {
  for (const overrides of [{}, { verify: "false" }, { adopt: JSON.stringify({ bucket: true }) }]) {
    const r = await runProgram(minimalConfig(overrides));
    assert.equal(one(r, E2_BUCKET_TYPE).options.protect, true, JSON.stringify(overrides));
    assert.equal(one(r, E2_BUCKET_TYPE).options.retainOnDelete, true, JSON.stringify(overrides));
  }
});
