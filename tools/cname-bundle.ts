// `npm run --silent cname-bundle [-- --stack <name>]`: prints what the operator pastes into the iDrive e2
// console (Settings → Add CNAME): the CNAME value `*.<domain>`, the origin certificate and its private key,
// and the certificate's SHA-256 fingerprint, which `pulumi up` checks e2 serves.
//
// Where the values come from, and why not from the stack outputs: a certificate rotation creates the new
// key and certificate inside a `pulumi up` that then fails at the custom-domain check (by design: the new
// certificate is not registered in e2 yet). Stack outputs are only written when a run completes, so they
// still hold the old certificate. This script therefore reads the state itself (`pulumi stack export
// --show-secrets`) and takes the newest certificate there:
//   1. the Cloudflare origin certificate resource that is not pending deletion (an old one replaced during a
//      rotation stays in state marked `delete` until a run completes) and covers the CNAME domain, paired
//      with the `tls` private key whose public key matches it. This is what the next `pulumi up` hands to the
//      custom-domain check, even if the last run stopped before reaching that check;
//   2. failing that, the E2CustomDomain resource's own inputs (`certificatePem`, `privateKeyPem`), which the
//      engine records with a "created but failed to initialise" result.
// The CNAME domain and the endpoint come from the E2CustomDomain inputs, else from the stack outputs.
//
// Not run here: this machine has no Pulumi CLI and no stack, so `main`'s call to the CLI (tools/pulumi-cli.ts,
// which also deals with a passphrase-protected stack) is exercised in the tests only against a stand-in. The parsing below is pure and tested on synthetic exports.
import { createPrivateKey, createPublicKey, X509Certificate } from "node:crypto";
import { CNAME_BUNDLE_COMMAND, E2_CUSTOM_DOMAIN_TYPE } from "../providers/e2-custom-domain";
import { certificateSha256 } from "../providers/tls-probe";
import { PulumiCliError, runPulumi } from "./pulumi-cli";
import { isSecretWrapper } from "./secret-signature";
import { parseStackArgs, UsageError } from "./stack-args";

/** State type tokens of the resources that hold the origin certificate and its key. */
export const ORIGIN_CERTIFICATE_TYPE = "cloudflare:index/originCaCertificate:OriginCaCertificate";
export const PRIVATE_KEY_TYPE = "tls:index/privateKey:PrivateKey";
export const STACK_TYPE = "pulumi:pulumi:Stack";

/** What the operator pastes into the console, plus where it came from. */
export interface CnameBundle {
  cnameDomain: string;
  /** The e2 endpoint host, when known: names the region in the instructions. */
  endpointHost?: string;
  certificatePem: string;
  privateKeyPem: string;
  certificateSha256: string;
  /** URNs the certificate and key were read from. */
  sources: string[];
  /** Things the operator should know (printed on stderr). */
  notes: string[];
}

/** A problem the operator can act on; printed without a stack trace. */
export class CnameBundleError extends Error {}

interface StateResource {
  urn: string;
  type: string;
  delete?: boolean;
  pendingReplacement?: boolean;
  inputs?: Record<string, unknown>;
  outputs?: Record<string, unknown>;
}

/** `--stack <name>` or `--stack=<name>`; nothing else. */
export const parseArgs = (argv: string[]) =>
  parseStackArgs(argv, `${CNAME_BUNDLE_COMMAND} [-- --stack <name>]`);

/**
 * A property value from a stack export as a string. Secrets shown with `--show-secrets` look like
 * `{"4dabf…": "1b47…", "plaintext": "<the value, JSON-encoded>"}`; without it they carry `ciphertext` instead.
 */
export function exportedString(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === "string") return value;
  if (isSecretWrapper(value)) {
    if (typeof value.plaintext === "string") {
      const decoded: unknown = JSON.parse(value.plaintext);
      if (typeof decoded === "string") return decoded;
      throw new CnameBundleError(`${what} is a secret that does not hold text`);
    }
    throw new CnameBundleError(`${what} is encrypted in the export: export with --show-secrets`);
  }
  throw new CnameBundleError(`${what} is not text in the export`);
}

function resourcesOf(exported: unknown): StateResource[] {
  const deployment = (exported as { deployment?: { resources?: unknown } } | null)?.deployment;
  if (!deployment || typeof deployment !== "object") {
    throw new CnameBundleError("not a stack export: no `deployment` (expected `pulumi stack export` output)");
  }
  const resources = deployment.resources ?? [];
  if (!Array.isArray(resources)) throw new CnameBundleError("not a stack export: `resources` is not a list");
  return resources as StateResource[];
}

const live = (r: StateResource) => !r.delete && !r.pendingReplacement;

function publicKeyDer(privateKeyPem: string): Buffer | undefined {
  try {
    return createPublicKey(createPrivateKey(privateKeyPem)).export({ type: "spki", format: "der" });
  } catch {
    return undefined;
  }
}

function coversDomain(cert: X509Certificate, cnameDomain: string): boolean {
  const names = (cert.subjectAltName ?? "").split(/,\s*/).map((n) => n.replace(/^DNS:/, "").toLowerCase());
  return names.includes(cnameDomain.toLowerCase());
}

function parseCertificate(pem: string): X509Certificate | undefined {
  try {
    return new X509Certificate(pem);
  } catch {
    return undefined;
  }
}

/** Picks the bundle out of a `pulumi stack export --show-secrets` document. See the file comment for the order. */
export function cnameBundleFromExport(exported: unknown): CnameBundle {
  const resources = resourcesOf(exported);
  const notes: string[] = [];

  const domains = resources.filter((r) => r.type === E2_CUSTOM_DOMAIN_TYPE && live(r));
  if (domains.length > 1) {
    throw new CnameBundleError(
      `the stack has ${domains.length} E2 custom domains (${domains.map((d) => d.urn).join(", ")}); expected one`,
    );
  }
  const domain = domains[0];
  const stackOutputs = resources.find((r) => r.type === STACK_TYPE)?.outputs ?? {};
  const cnameDomain =
    exportedString(domain?.inputs?.cnameDomain, "the custom domain's cnameDomain") ??
    exportedString(stackOutputs.cnameDomain, "the stack output cnameDomain");
  if (!cnameDomain) {
    throw new CnameBundleError(
      "the stack state names no CNAME domain (no E2 custom domain resource, no cnameDomain output): run `pulumi up` first",
    );
  }
  const endpoint = exportedString(domain?.inputs?.endpoint, "the custom domain's endpoint");
  const endpointHost = endpoint?.replace(/^\[([^\]]+)\].*$/, "$1").replace(/:\d+$/, "");

  // 1. The newest origin certificate and the key that belongs to it.
  const certificates = resources
    .filter((r) => r.type === ORIGIN_CERTIFICATE_TYPE && live(r))
    .map((r) => ({ urn: r.urn, pem: exportedString(r.outputs?.certificate, `${r.urn} certificate`) }))
    .map((c) => ({ ...c, x509: c.pem ? parseCertificate(c.pem) : undefined }))
    .filter(
      (c): c is { urn: string; pem: string; x509: X509Certificate } =>
        !!c.x509 && coversDomain(c.x509, cnameDomain),
    );
  const keys = resources
    .filter((r) => r.type === PRIVATE_KEY_TYPE && live(r))
    .map((r) => ({ urn: r.urn, pem: exportedString(r.outputs?.privateKeyPem, `${r.urn} privateKeyPem`) }))
    .filter((k): k is { urn: string; pem: string } => !!k.pem);
  const domainCertificate = exportedString(
    domain?.inputs?.certificatePem,
    "the custom domain's certificatePem",
  );

  let chosen: { urn: string; pem: string; x509: X509Certificate } | undefined;
  if (certificates.length === 1) chosen = certificates[0];
  else if (certificates.length > 1) {
    chosen = certificates.find((c) => c.pem.trim() === domainCertificate?.trim());
    if (!chosen) {
      throw new CnameBundleError(
        `several origin certificates cover ${cnameDomain} (${certificates.map((c) => c.urn).join(", ")}) and none is the custom domain's`,
      );
    }
  }
  if (chosen) {
    const wanted = chosen.x509.publicKey.export({ type: "spki", format: "der" });
    const key = keys.find((k) => publicKeyDer(k.pem)?.equals(wanted));
    if (key) {
      if (domainCertificate !== undefined && domainCertificate.trim() !== chosen.pem.trim()) {
        notes.push(
          "The custom-domain resource still records an older certificate; the next `pulumi up` checks this one.",
        );
      }
      return {
        cnameDomain,
        endpointHost,
        certificatePem: chosen.pem,
        privateKeyPem: key.pem,
        certificateSha256: certificateSha256(chosen.pem),
        sources: [chosen.urn, key.urn],
        notes,
      };
    }
    notes.push(
      `No private key in the state matches ${chosen.urn}; using the custom-domain resource's inputs.`,
    );
  }

  // 2. The custom domain's own inputs.
  const domainKey = exportedString(domain?.inputs?.privateKeyPem, "the custom domain's privateKeyPem");
  if (!domain || domainCertificate === undefined || domainKey === undefined) {
    throw new CnameBundleError(
      `the stack state holds no origin certificate with its key for ${cnameDomain}: run \`pulumi up\` first`,
    );
  }
  const x509 = parseCertificate(domainCertificate);
  if (!x509) throw new CnameBundleError(`${domain.urn}: certificatePem is not a certificate`);
  if (!publicKeyDer(domainKey)?.equals(x509.publicKey.export({ type: "spki", format: "der" }))) {
    throw new CnameBundleError(
      `${domain.urn}: the recorded private key does not belong to the recorded certificate`,
    );
  }
  return {
    cnameDomain,
    endpointHost,
    certificatePem: domainCertificate,
    privateKeyPem: domainKey,
    certificateSha256: certificateSha256(domainCertificate),
    sources: [domain.urn],
    notes,
  };
}

/** The text for stdout: each value on its own, ready to copy. */
export function formatCnameBundle(bundle: CnameBundle): string {
  const region = bundle.endpointHost
    ? `the region whose endpoint is ${bundle.endpointHost}`
    : "the bucket's region";
  return [
    `iDrive e2 console → Regions → ${region} → Settings → Add CNAME`,
    "",
    "CNAME:",
    bundle.cnameDomain,
    "",
    "Certificate (PEM):",
    bundle.certificatePem.trim(),
    "",
    "Private key (PEM):",
    bundle.privateKeyPem.trim(),
    "",
    "Certificate SHA-256 fingerprint (`pulumi up` checks that e2 serves exactly this certificate):",
    bundle.certificateSha256,
    "",
    "Then run `pulumi up` again.",
    "",
  ].join("\n");
}

/**
 * Runs `pulumi stack export --show-secrets` (the operator's CLI and login; a passphrase-protected stack is
 * handled by runPulumi) and returns the parsed JSON.
 */
export function exportStack(stack: string | undefined): unknown {
  const text = runPulumi(["stack", "export", "--show-secrets"], stack);
  try {
    return JSON.parse(text);
  } catch {
    throw new CnameBundleError(
      `\`pulumi stack export --show-secrets${stack ? ` --stack ${stack}` : ""}\` did not print JSON`,
    );
  }
}

export function main(argv: string[]): number {
  try {
    const { stack } = parseArgs(argv);
    const bundle = cnameBundleFromExport(exportStack(stack));
    process.stdout.write(formatCnameBundle(bundle));
    for (const note of bundle.notes) process.stderr.write(`note: ${note}\n`);
    process.stderr.write(
      `note: read from ${bundle.sources.join(" and ")}. The private key above is secret: paste it only into ` +
        "the e2 console, and clear your terminal's scrollback afterwards.\n",
    );
    return 0;
  } catch (e) {
    if (e instanceof CnameBundleError || e instanceof UsageError || e instanceof PulumiCliError) {
      process.stderr.write(`cname-bundle: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
