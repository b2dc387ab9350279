import { test } from "node:test";
import assert from "node:assert/strict";
import { SignatureV4 } from "@smithy/signature-v4";
import { Sha256 } from "@aws-crypto/sha256-js";
import { amzDate, s3ObjectPath, signRequest, uriEncode, type SignableRequest } from "../runtime/sigv4";

const credentials = {
  accessKeyId: "AKIDEXAMPLE0000000001",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
  region: "eu-central-2",
};
const date = new Date("2026-11-05T14:03:09.512Z");

/** The reference: @smithy/signature-v4 as the AWS SDK configures it for S3 (path used as given). */
async function smithyAuthorization(req: SignableRequest, region = credentials.region): Promise<string> {
  const signer = new SignatureV4({
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    region,
    service: "s3",
    sha256: Sha256,
    uriEscapePath: false,
  });
  const [hostname, port] = req.host.split(":");
  const signed = await signer.sign(
    {
      method: req.method,
      protocol: "https:",
      hostname,
      port: port ? Number(port) : undefined,
      path: req.path,
      query: {},
      headers: { host: req.host, ...(req.headers ?? {}) },
      body: req.body,
    },
    { signingDate: date },
  );
  return signed.headers["authorization"];
}

const cases: [string, SignableRequest][] = [
  [
    "PUT with a text body and content type",
    {
      method: "PUT",
      host: "s3.eu-central-2.idrivee2.com",
      path: s3ObjectPath("files", "_probe/dev.txt"),
      headers: { "content-type": "text/plain; charset=utf-8" },
      body: "mastodon-media probe 1234abcd\n",
    },
  ],
  [
    "DELETE with an empty body",
    { method: "DELETE", host: "s3.eu-central-2.idrivee2.com", path: s3ObjectPath("files", "_probe/dev.txt") },
  ],
  [
    "a host with a port and a key needing percent-encoding",
    {
      method: "PUT",
      host: "abcd.fra.idrivee2-22.com:8443",
      path: s3ObjectPath("media.example", "_probe/my stack (1)+ü*.txt"),
      headers: { "content-type": "text/plain" },
      body: new TextEncoder().encode("bytes body"),
    },
  ],
];

for (const [name, req] of cases) {
  test(`signature matches @smithy/signature-v4 for ${name}`, async () => {
    const ours = signRequest(req, credentials, date);
    assert.equal(ours.headers["authorization"], await smithyAuthorization(req));
    assert.match(ours.headers["authorization"], new RegExp(`Signature=${ours.signature}$`));
  });
}

test("signature differs from the reference when the secret differs", async () => {
  const req = cases[0][1];
  const ours = signRequest(req, { ...credentials, secretAccessKey: "another-secret" }, date);
  assert.notEqual(ours.headers["authorization"], await smithyAuthorization(req));
});

test("signature uses the configured signing region in the credential scope", async () => {
  const req = cases[1][1];
  const ours = signRequest(req, { ...credentials, region: "us-midwest-1" }, date);
  assert.match(
    ours.headers["authorization"],
    /Credential=AKIDEXAMPLE0000000001\/20261105\/us-midwest-1\/s3\/aws4_request/,
  );
  assert.equal(ours.headers["authorization"], await smithyAuthorization(req, "us-midwest-1"));
});

test("signed headers carry the payload hash and date e2 checks", () => {
  const ours = signRequest(cases[1][1], credentials, date);
  // SHA-256 of the empty string.
  assert.equal(
    ours.headers["x-amz-content-sha256"],
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
  );
  assert.equal(ours.headers["x-amz-date"], "20261105T140309Z");
  assert.equal(ours.headers["host"], "s3.eu-central-2.idrivee2.com");
});

test("amzDate drops separators and milliseconds", () => {
  assert.equal(amzDate(new Date("2026-01-02T03:04:05.678Z")), "20260102T030405Z");
});

test("uriEncode escapes the characters encodeURIComponent leaves alone", () => {
  assert.equal(uriEncode("a!b'c(d)e*f~g"), "a%21b%27c%28d%29e%2Af~g");
});

test("s3ObjectPath keeps slashes between key segments and encodes inside them", () => {
  assert.equal(s3ObjectPath("files", "_probe/a b/c.txt"), "/files/_probe/a%20b/c.txt");
});
