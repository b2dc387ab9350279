// cname-bundle's parsing, on synthetic `pulumi stack export --show-secrets` documents shaped like the ones
// the CLI writes (secrets as {sig: SecretSig, plaintext: <JSON-encoded value>}, per Pulumi's
// apitype.SecretV1 and stack.SerializePropertyValue), and its CLI call against a stand-in `pulumi`
// executable: the real CLI is not available here.
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { E2_CUSTOM_DOMAIN_TYPE } from "../providers/e2-custom-domain";
import {
  cnameBundleFromExport,
  exportedString,
  formatCnameBundle,
  main,
  ORIGIN_CERTIFICATE_TYPE,
  parseArgs,
  PRIVATE_KEY_TYPE,
  STACK_TYPE,
} from "../tools/cname-bundle";
import { makeCertificate, type TestCertificate } from "./support/tls-servers";

const SIG_KEY = "4dabf18193072939515e22adb298388d";
const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const PARENT =
  "urn:pulumi:prod::mastodon-media::mastodon-media:index:MastodonMediaStorage$mastodon-media:cloudflare:MediaHost";

const shown = (value: string) => ({ [SIG_KEY]: SECRET_SIG, plaintext: JSON.stringify(value) });
const encrypted = () => ({ [SIG_KEY]: SECRET_SIG, ciphertext: "v1:AAAAbm90IHJlYWxseSBlbmNyeXB0ZWQ=" });

type Resource = Record<string, unknown>;

function exportOf(resources: Resource[]) {
  return {
    version: 3,
    deployment: {
      manifest: { time: "2026-11-20T10:00:00Z", magic: "0123456789abcdef", version: "v3.200.0" },
      secrets_providers: { type: "passphrase", state: { salt: "v1:c2FsdA==" } },
      resources,
    },
  };
}

function stack(outputs: Record<string, unknown>): Resource {
  return {
    urn: "urn:pulumi:prod::mastodon-media::pulumi:pulumi:Stack::mastodon-media-prod",
    custom: false,
    type: STACK_TYPE,
    outputs,
  };
}

function key(name: string, cert: TestCertificate, extra: Resource = {}): Resource {
  return {
    urn: `${PARENT}$${PRIVATE_KEY_TYPE}::${name}`,
    custom: true,
    id: `${name}-id`,
    type: PRIVATE_KEY_TYPE,
    inputs: { algorithm: "ECDSA", ecdsaCurve: "P256" },
    outputs: {
      algorithm: "ECDSA",
      privateKeyPem: shown(cert.privateKeyPem),
      publicKeyFingerprintMd5: "aa:bb",
    },
    ...extra,
  };
}

function certificate(name: string, cert: TestCertificate, extra: Resource = {}): Resource {
  return {
    urn: `${PARENT}$${ORIGIN_CERTIFICATE_TYPE}::${name}`,
    custom: true,
    id: `${name}-id`,
    type: ORIGIN_CERTIFICATE_TYPE,
    inputs: {
      csr: "-----BEGIN CERTIFICATE REQUEST-----…",
      hostnames: ["example.social", "*.example.social"],
    },
    outputs: {
      certificate: cert.certificatePem,
      expiresOn: "2041-11-20T10:00:00Z",
      requestType: "origin-ecc",
    },
    ...extra,
  };
}

function customDomain(cert: TestCertificate, extra: Resource = {}): Resource {
  return {
    urn: `urn:pulumi:prod::mastodon-media::mastodon-media:index:MastodonMediaStorage$${E2_CUSTOM_DOMAIN_TYPE}::media-cname`,
    custom: true,
    id: "*.example.social@s3.eu-central-2.idrivee2.com:443",
    type: E2_CUSTOM_DOMAIN_TYPE,
    inputs: {
      __provider: "exports.handler = __f0; …",
      endpoint: "s3.eu-central-2.idrivee2.com",
      hostname: "files.example.social",
      cnameDomain: "*.example.social",
      certificatePem: cert.certificatePem,
      privateKeyPem: shown(cert.privateKeyPem),
      waitSeconds: 0,
    },
    outputs: { registered: false, expectedCertificateSha256: cert.sha256 },
    initErrors: ["iDrive e2 does not serve this stack's origin certificate for files.example.social yet"],
    ...extra,
  };
}

let oldCert: TestCertificate;
let newCert: TestCertificate;
let unrelated: TestCertificate;

before(() => {
  oldCert = makeCertificate(["example.social", "*.example.social"]);
  newCert = makeCertificate(["example.social", "*.example.social"]);
  unrelated = makeCertificate(["ssh.example.social"]);
});

describe("cnameBundleFromExport", () => {
  it("during a rotation, returns the new certificate and key, not the old ones the stack outputs still hold", () => {
    const exported = exportOf([
      stack({ cnameDomain: "*.example.social", originCertificatePem: oldCert.certificatePem }),
      key("media-origin-key", oldCert, { delete: true }),
      certificate("media-origin-cert", oldCert, { delete: true }),
      key("media-origin-key", newCert),
      certificate("media-origin-cert", newCert),
      customDomain(newCert),
    ]);
    const bundle = cnameBundleFromExport(exported);
    assert.equal(bundle.cnameDomain, "*.example.social");
    assert.equal(bundle.certificatePem, newCert.certificatePem);
    assert.equal(bundle.privateKeyPem, newCert.privateKeyPem);
    assert.equal(bundle.certificateSha256, newCert.sha256, "the fingerprint openssl computed");
    assert.equal(bundle.endpointHost, "s3.eu-central-2.idrivee2.com");
    assert.deepEqual(bundle.sources, [
      `${PARENT}$${ORIGIN_CERTIFICATE_TYPE}::media-origin-cert`,
      `${PARENT}$${PRIVATE_KEY_TYPE}::media-origin-key`,
    ]);
    assert.deepEqual(bundle.notes, []);
  });

  it("returns the certificate the next run will check even if the last run stopped before the custom domain", () => {
    const exported = exportOf([
      stack({ cnameDomain: "*.example.social" }),
      certificate("media-origin-cert", newCert),
      key("media-origin-key", newCert),
      customDomain(oldCert),
    ]);
    const bundle = cnameBundleFromExport(exported);
    assert.equal(bundle.certificatePem, newCert.certificatePem);
    assert.equal(bundle.privateKeyPem, newCert.privateKeyPem);
    assert.match(bundle.notes.join("\n"), /still records an older certificate/);
  });

  it("pairs the certificate with the key whose public key matches it, not the first key in the state", () => {
    const exported = exportOf([
      stack({}),
      key("deploy-key", unrelated),
      key("media-origin-key", newCert),
      certificate("media-origin-cert", newCert),
      customDomain(newCert),
    ]);
    assert.equal(cnameBundleFromExport(exported).privateKeyPem, newCert.privateKeyPem);
  });

  it("falls back to the custom domain's own inputs when the state holds no origin certificate resource", () => {
    const bundle = cnameBundleFromExport(exportOf([stack({}), customDomain(newCert)]));
    assert.equal(bundle.certificatePem, newCert.certificatePem);
    assert.equal(bundle.privateKeyPem, newCert.privateKeyPem);
    assert.deepEqual(bundle.sources, [customDomain(newCert).urn]);
  });

  it("takes the CNAME domain from the stack output when there is no custom domain resource yet", () => {
    const exported = exportOf([
      stack({ cnameDomain: "*.example.social" }),
      certificate("media-origin-cert", newCert),
      key("media-origin-key", newCert),
    ]);
    const bundle = cnameBundleFromExport(exported);
    assert.equal(bundle.cnameDomain, "*.example.social");
    assert.equal(bundle.endpointHost, undefined);
    assert.equal(bundle.certificateSha256, newCert.sha256);
  });

  it("asks for --show-secrets when the key is encrypted in the export", () => {
    const exported = exportOf([
      stack({}),
      customDomain(newCert, {
        inputs: { ...(customDomain(newCert).inputs as object), privateKeyPem: encrypted() },
      }),
    ]);
    assert.throws(
      () => cnameBundleFromExport(exported),
      /encrypted in the export: export with --show-secrets/,
    );
  });

  it("says to run `pulumi up` first when the state names no CNAME domain", () => {
    assert.throws(
      () => cnameBundleFromExport(exportOf([stack({})])),
      /names no CNAME domain.*run `pulumi up` first/,
    );
  });

  it("refuses a recorded key that does not belong to the recorded certificate", () => {
    const mixed = customDomain(newCert, {
      inputs: { ...(customDomain(newCert).inputs as object), privateKeyPem: shown(oldCert.privateKeyPem) },
    });
    assert.throws(
      () => cnameBundleFromExport(exportOf([mixed])),
      /private key does not belong to the recorded certificate/,
    );
  });

  it("rejects a document that is not a stack export", () => {
    assert.throws(() => cnameBundleFromExport({ outputs: {} }), /not a stack export/);
  });
});

describe("exportedString", () => {
  it("decodes a shown secret, whose plaintext is the JSON-encoded value", () => {
    assert.equal(exportedString(shown('line one\nline "two"'), "x"), 'line one\nline "two"');
    assert.equal(exportedString("plain", "x"), "plain");
    assert.equal(exportedString(undefined, "x"), undefined);
  });
});

describe("formatCnameBundle", () => {
  it("prints the region hint, CNAME, both PEM blocks and the fingerprint, each on lines of their own", () => {
    const text = formatCnameBundle({
      cnameDomain: "*.example.social",
      endpointHost: "s3.eu-central-2.idrivee2.com",
      certificatePem: newCert.certificatePem,
      privateKeyPem: newCert.privateKeyPem,
      certificateSha256: newCert.sha256,
      sources: [],
      notes: [],
    });
    const lines = text.split("\n");
    assert.equal(
      lines[0],
      "iDrive e2 console → Regions → the region whose endpoint is s3.eu-central-2.idrivee2.com → Settings → Add CNAME",
    );
    assert.equal(lines[lines.indexOf("CNAME:") + 1], "*.example.social");
    assert.ok(text.includes(`Certificate (PEM):\n${newCert.certificatePem.trim()}\n`));
    assert.ok(text.includes(`Private key (PEM):\n${newCert.privateKeyPem.trim()}\n`));
    assert.ok(lines.includes(newCert.sha256));
  });
});

describe("parseArgs", () => {
  it("accepts no arguments, --stack <name> and --stack=<name>, and nothing else", () => {
    assert.deepEqual(parseArgs([]), {});
    assert.deepEqual(parseArgs(["--stack", "prod"]), { stack: "prod" });
    assert.deepEqual(parseArgs(["--stack=org/prod"]), { stack: "org/prod" });
    assert.throws(() => parseArgs(["--stack"]), /needs a stack name/);
    assert.throws(() => parseArgs(["prod"]), /unknown argument "prod"; usage: npm run --silent cname-bundle/);
  });
});

describe("main, against a stand-in `pulumi` executable", () => {
  let dir: string;
  const savedPath = process.env.PATH;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), "cname-bundle-"));
    writeFileSync(
      join(dir, "export.json"),
      JSON.stringify(
        exportOf([stack({}), certificate("c", newCert), key("k", newCert), customDomain(newCert)]),
      ),
    );
    // Records its arguments and prints the synthetic export, as `pulumi stack export --show-secrets` would.
    writeFileSync(
      join(dir, "pulumi"),
      `#!/bin/sh\nprintf '%s\\n' "$@" > '${join(dir, "args.txt")}'\ncat '${join(dir, "export.json")}'\n`,
    );
    chmodSync(join(dir, "pulumi"), 0o755);
  });
  after(() => {
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  });

  function capture(run: () => number): { code: number; stdout: string; stderr: string } {
    const out: string[] = [];
    const err: string[] = [];
    const write = { stdout: process.stdout.write, stderr: process.stderr.write };
    process.stdout.write = ((chunk: string) => out.push(chunk) > 0) as typeof process.stdout.write;
    process.stderr.write = ((chunk: string) => err.push(chunk) > 0) as typeof process.stderr.write;
    try {
      return { code: run(), stdout: out.join(""), stderr: err.join("") };
    } finally {
      process.stdout.write = write.stdout;
      process.stderr.write = write.stderr;
    }
  }

  it("runs `pulumi stack export --show-secrets --stack <name>` and prints the bundle, the key only on stdout", () => {
    process.env.PATH = `${dir}${delimiter}${savedPath}`; // the stand-in first; the shell still finds `cat`
    const result = capture(() => main(["--stack", "prod"]));
    assert.equal(result.code, 0, result.stderr);
    assert.deepEqual(readFileSync(join(dir, "args.txt"), "utf8").trim().split("\n"), [
      "stack",
      "export",
      "--show-secrets",
      "--stack",
      "prod",
    ]);
    assert.ok(result.stdout.includes(newCert.privateKeyPem.trim()));
    assert.ok(result.stdout.includes(newCert.sha256));
    assert.ok(!result.stderr.includes("PRIVATE KEY"));
    assert.match(result.stderr, /paste it only into the e2 console/);
  });

  it("reports a missing Pulumi CLI as a one-line error and exit code 1", () => {
    process.env.PATH = join(dir, "empty");
    const result = capture(() => main([]));
    assert.deepEqual(result, {
      code: 1,
      stdout: "",
      stderr: "cname-bundle: the Pulumi CLI (`pulumi`) is not on PATH\n",
    });
  });
});
