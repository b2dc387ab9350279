// E2CustomDomain: iDrive e2's "Add CNAME" registration (wildcard domain + origin certificate + key) as a
// verified step of `pulumi up`.
//
// iDrive publishes no API for this registration (the console uses an undocumented one with short-lived
// login tokens), so this resource does not perform it: it checks it. A TLS handshake to the e2 endpoint with
// SNI = the media host shows which certificate e2 serves for that host; the domain counts as registered only
// when that is exactly the stack's origin certificate. When it is not, the resource is recorded as "created
// but failed to initialise" with instructions for the console, and the next `pulumi up` checks again. Should
// iDrive publish an API, the call belongs in `ensureRegistered` below, and nowhere else.
//
// Pulumi serializes `e2CustomDomainProvider` with everything it references and runs that text in a separate
// process, where this file's imports cannot be resolved. Hence: the provider captures only functions and
// plain, non-secret constants; Node modules are `require`d inside functions; nothing here logs.
/* eslint-disable @typescript-eslint/no-require-imports -- see the note above: requires must stay inside */
import * as pulumi from "@pulumi/pulumi";
import { certificateSha256, probeLeafCertificateSha256, type TlsProbeResult } from "./tls-probe";

/** Module and type name given to `pulumi.dynamic.Resource`; together they form {@link E2_CUSTOM_DOMAIN_TYPE}. */
export const E2_CUSTOM_DOMAIN_MODULE = "mastodon-media/e2";
export const E2_CUSTOM_DOMAIN_TYPE_NAME = "CustomDomain";
/** The resource's full type token, as it appears in state (`pulumi stack export`). */
export const E2_CUSTOM_DOMAIN_TYPE = `pulumi-nodejs:dynamic/${E2_CUSTOM_DOMAIN_MODULE}:${E2_CUSTOM_DOMAIN_TYPE_NAME}`;

/** The command that prints the CNAME, certificate and key to paste into the e2 console. */
export const CNAME_BUNDLE_COMMAND = "npm run --silent cname-bundle";

/** Port used when `endpoint` names none. */
export const DEFAULT_E2_PORT = 443;
/** Time allowed for DNS lookup plus TCP connect to the e2 endpoint, per probe. */
export const PROBE_CONNECT_TIMEOUT_MS = 5_000;
/** Time allowed for the TLS handshake once connected, per probe. */
export const PROBE_HANDSHAKE_TIMEOUT_MS = 10_000;
/** First pause between probes while waiting for a registration; doubles after each probe. */
export const POLL_FIRST_INTERVAL_MS = 2_000;
/** Cap on the pause between probes. */
export const POLL_MAX_INTERVAL_MS = 15_000;
/** Largest accepted `waitSeconds`: an hour; beyond that, failing with instructions serves the operator better. */
export const MAX_WAIT_SECONDS = 3_600;

/** Probe time-outs and polling pace. Plain numbers: safe to store in state with the serialized provider. */
export interface E2CustomDomainTiming {
  connectTimeoutMs: number;
  handshakeTimeoutMs: number;
  pollFirstIntervalMs: number;
  pollMaxIntervalMs: number;
}

export const DEFAULT_E2_CUSTOM_DOMAIN_TIMING: E2CustomDomainTiming = {
  connectTimeoutMs: PROBE_CONNECT_TIMEOUT_MS,
  handshakeTimeoutMs: PROBE_HANDSHAKE_TIMEOUT_MS,
  pollFirstIntervalMs: POLL_FIRST_INTERVAL_MS,
  pollMaxIntervalMs: POLL_MAX_INTERVAL_MS,
};

/** Arguments of {@link E2CustomDomain}. */
export interface E2CustomDomainArgs {
  /**
   * The e2 S3 endpoint serving the bucket, as `host` or `host:port` (no scheme, no path), e.g.
   * `s3.eu-central-2.idrivee2.com`. Port defaults to 443.
   */
  endpoint: pulumi.Input<string>;
  /** The media host, e.g. `files.example.social`; sent as TLS SNI. Must be one label under `cnameDomain`. */
  hostname: pulumi.Input<string>;
  /** The wildcard domain registered in the e2 console, e.g. `*.example.social`. */
  cnameDomain: pulumi.Input<string>;
  /** The origin certificate (PEM) e2 must serve for `hostname`; the first certificate in the text is the leaf. */
  certificatePem: pulumi.Input<string>;
  /** The certificate's private key (PEM). Stored as a secret; only checked against the certificate. */
  privateKeyPem: pulumi.Input<string>;
  /**
   * How long `pulumi up` keeps re-checking an unregistered domain before failing with instructions, in
   * seconds. Default 0: check once. Whole seconds, at most {@link MAX_WAIT_SECONDS}.
   */
  waitSeconds?: pulumi.Input<number>;
}

/** Resolved inputs, as the provider receives them after `check`. */
export interface E2CustomDomainInputs {
  endpoint: string;
  hostname: string;
  cnameDomain: string;
  certificatePem: string;
  privateKeyPem: string;
  waitSeconds: number;
}

/** Resolved outputs: the inputs plus what the last check saw. */
export interface E2CustomDomainOutputs extends E2CustomDomainInputs {
  /** True when e2 served exactly `certificatePem` for `hostname` at the last check. */
  registered: boolean;
  /** SHA-256 fingerprint (`AB:CD:…`) of `certificatePem`. */
  expectedCertificateSha256: string;
  /** Fingerprint of the certificate e2 served at the last check; "" if the handshake failed. */
  servedCertificateSha256: string;
  /** Why the last handshake failed; "" if it succeeded. */
  checkError: string;
  /** When the last check ran (ISO 8601, UTC). */
  checkedAt: string;
}

/** What the dynamic-provider host hands the provider: the inputs plus the serialized provider itself. */
type WithProvider<T> = T & { __provider?: string };

/** An error the dynamic-provider host reports as "created but failed to initialise" (see its grpcResponseFromError). */
export interface InitFailureError extends Error {
  id: string;
  properties: Record<string, unknown>;
  reasons: string[];
}

// The engine's placeholder for a value not known yet (during preview), as the provider receives it.
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
const INPUT_NAMES = [
  "endpoint",
  "hostname",
  "cnameDomain",
  "certificatePem",
  "privateKeyPem",
  "waitSeconds",
] as const;
const LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";

/** Splits `host` or `host:port` (IPv6 in brackets); returns an error text for anything else. */
export function parseEndpoint(endpoint: string): { host: string; port: number } | { error: string } {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(endpoint)) {
    return { error: `endpoint must be a host name, not a URL: drop the scheme ("${endpoint}")` };
  }
  if (/[/?#@\s]/.test(endpoint)) {
    return { error: `endpoint must be "host" or "host:port", without path, query or user ("${endpoint}")` };
  }
  const match = /^(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::(\d{1,5}))?$/i.exec(endpoint);
  const host = match?.[1] ?? match?.[2];
  const port = match?.[3] === undefined ? DEFAULT_E2_PORT : Number(match[3]);
  if (!host || host.startsWith(".") || host.endsWith(".") || host.includes("..")) {
    return { error: `endpoint must be "host" or "host:port" ("${endpoint}")` };
  }
  if (port < 1 || port > 65_535) return { error: `endpoint port must be 1-65535 ("${endpoint}")` };
  return { host, port };
}

/** Every problem with `news`, for `check`. Unknown values (preview) are not judged. Never echoes the key. */
export function validateInputs(inputs: object): { property: string; reason: string }[] {
  const news = inputs as Record<string, unknown>;
  const failures: { property: string; reason: string }[] = [];
  const known = (name: string) => news[name] !== UNKNOWN;
  const text = (name: string): string | undefined => {
    const value = news[name];
    if (!known(name)) return undefined;
    if (typeof value !== "string" || value.trim() === "") {
      failures.push({ property: name, reason: `${name} is required and must be a non-empty string` });
      return undefined;
    }
    return value;
  };

  const endpoint = text("endpoint");
  if (endpoint !== undefined) {
    const parsed = parseEndpoint(endpoint);
    if ("error" in parsed) failures.push({ property: "endpoint", reason: parsed.error });
  }

  const cnameDomain = text("cnameDomain");
  const hostname = text("hostname");
  let base: string | undefined;
  if (cnameDomain !== undefined) {
    if (new RegExp(`^\\*\\.(${LABEL}(?:\\.${LABEL})+)$`, "i").test(cnameDomain)) {
      base = cnameDomain.slice(2).toLowerCase();
    } else {
      failures.push({
        property: "cnameDomain",
        reason: `cnameDomain must be a wildcard domain like "*.example.social" ("${cnameDomain}")`,
      });
    }
  }
  if (hostname !== undefined) {
    const lower = hostname.toLowerCase();
    if (!new RegExp(`^${LABEL}(?:\\.${LABEL})+$`, "i").test(hostname)) {
      failures.push({
        property: "hostname",
        reason: `hostname must be a DNS name like "files.example.social"`,
      });
    } else if (
      base !== undefined &&
      !(lower.endsWith(`.${base}`) && new RegExp(`^${LABEL}$`).test(lower.slice(0, -base.length - 1)))
    ) {
      failures.push({
        property: "hostname",
        reason: `hostname "${hostname}" is not covered by cnameDomain "${cnameDomain}": it must be exactly one label under ${base}`,
      });
    }
  }

  const certificatePem = text("certificatePem");
  const privateKeyPem = text("privateKeyPem");
  if (certificatePem !== undefined) {
    const crypto = require("node:crypto") as typeof import("node:crypto");
    let cert: import("node:crypto").X509Certificate | undefined;
    try {
      cert = new crypto.X509Certificate(certificatePem);
    } catch {
      failures.push({ property: "certificatePem", reason: "certificatePem is not a PEM certificate" });
    }
    if (cert && hostname !== undefined && cert.checkHost(hostname) === undefined) {
      failures.push({
        property: "certificatePem",
        reason: `certificatePem does not cover hostname "${hostname}" (it names: ${cert.subjectAltName ?? cert.subject})`,
      });
    }
    if (cert && new Date(cert.validTo).getTime() < Date.now()) {
      failures.push({ property: "certificatePem", reason: `certificatePem expired on ${cert.validTo}` });
    }
    if (cert && privateKeyPem !== undefined) {
      let key: import("node:crypto").KeyObject | undefined;
      try {
        key = crypto.createPrivateKey(privateKeyPem);
      } catch {
        // The parser's message is not passed on: it is not guaranteed to leave the key text out.
        failures.push({ property: "privateKeyPem", reason: "privateKeyPem is not a PEM private key" });
      }
      if (key && !cert.checkPrivateKey(key)) {
        failures.push({
          property: "privateKeyPem",
          reason: "privateKeyPem is not the key of certificatePem",
        });
      }
    }
  }

  const wait = news.waitSeconds;
  if (wait !== undefined && wait !== UNKNOWN) {
    if (typeof wait !== "number" || !Number.isInteger(wait) || wait < 0 || wait > MAX_WAIT_SECONDS) {
      failures.push({
        property: "waitSeconds",
        reason: `waitSeconds must be a whole number of seconds from 0 to ${MAX_WAIT_SECONDS} (got ${JSON.stringify(wait)})`,
      });
    }
  }
  return failures;
}

/** The resource ID: which wildcard domain on which endpoint. Stable across certificate rotations. */
function resourceId(inputs: E2CustomDomainInputs): string {
  const parsed = parseEndpoint(inputs.endpoint);
  const where = "error" in parsed ? inputs.endpoint : `${parsed.host}:${parsed.port}`;
  return `${inputs.cnameDomain}@${where}`;
}

/** One check: handshake with SNI `hostname` and compare the served leaf with `certificatePem`. */
async function checkOnce(
  inputs: E2CustomDomainInputs,
  timing: E2CustomDomainTiming,
): Promise<E2CustomDomainOutputs> {
  const expected = certificateSha256(inputs.certificatePem);
  const parsed = parseEndpoint(inputs.endpoint);
  const probe: TlsProbeResult =
    "error" in parsed
      ? { ok: false, error: parsed.error, elapsedMs: 0 }
      : await probeLeafCertificateSha256(
          { host: parsed.host, port: parsed.port, servername: inputs.hostname },
          { connectTimeoutMs: timing.connectTimeoutMs, handshakeTimeoutMs: timing.handshakeTimeoutMs },
        );
  return {
    endpoint: inputs.endpoint,
    hostname: inputs.hostname,
    cnameDomain: inputs.cnameDomain,
    certificatePem: inputs.certificatePem,
    privateKeyPem: inputs.privateKeyPem,
    waitSeconds: inputs.waitSeconds ?? 0,
    registered: probe.ok && probe.sha256 === expected,
    expectedCertificateSha256: expected,
    servedCertificateSha256: probe.ok ? probe.sha256 : "",
    checkError: probe.ok ? "" : probe.error,
    checkedAt: new Date().toISOString(),
  };
}

/**
 * Makes sure the domain is registered, as far as this program can: today that means checking, and polling
 * (with a growing, capped pause) until `waitSeconds` has passed. An API-backed registration would go here.
 */
async function ensureRegistered(
  inputs: E2CustomDomainInputs,
  timing: E2CustomDomainTiming,
): Promise<E2CustomDomainOutputs> {
  const deadline = Date.now() + (inputs.waitSeconds ?? 0) * 1_000;
  let pause = timing.pollFirstIntervalMs;
  for (;;) {
    const outs = await checkOnce(inputs, timing);
    const remaining = deadline - Date.now();
    if (outs.registered || remaining <= 0) return outs;
    await new Promise((resolve) => setTimeout(resolve, Math.min(pause, remaining)));
    pause = Math.min(pause * 2, timing.pollMaxIntervalMs);
  }
}

/** The operator-facing explanation of an unregistered domain. Contains no secret. */
export function notRegisteredMessage(outs: E2CustomDomainOutputs): { summary: string; steps: string } {
  const parsed = parseEndpoint(outs.endpoint);
  const host = "error" in parsed ? outs.endpoint : parsed.host;
  const seen = outs.checkError
    ? outs.checkError
    : `it served another certificate (SHA-256 ${outs.servedCertificateSha256})`;
  const waited = outs.waitSeconds > 0 ? ` after waiting ${outs.waitSeconds} s` : "";
  const summary =
    `iDrive e2 does not serve this stack's origin certificate for ${outs.hostname} yet${waited}: ` +
    `checked ${outs.endpoint} with SNI ${outs.hostname}, ${seen}.`;
  const steps = [
    `Register the custom domain in the iDrive e2 console (iDrive offers no API for this step):`,
    `  1. e2 console → Regions → the region whose endpoint is ${host} → Settings → Add CNAME.`,
    `  2. CNAME: ${outs.cnameDomain}`,
    `  3. Certificate and private key: run \`${CNAME_BUNDLE_COMMAND}\` (add \`-- --stack <name>\` for another ` +
      `stack) in this project and paste the certificate PEM and the private key PEM it prints.`,
    // Whether the console can replace an entry's certificate in place is not documented by iDrive (its
    // white-labeling page only offers self-managed or e2-managed certificates when adding a CNAME); a remove
    // then add leaves e2 without a certificate for the host in between, which Cloudflare (Full strict) answers
    // with 526 on cache misses. README: "Replacing e2's certificate without an unannounced outage".
    `     If ${outs.cnameDomain} is already listed with an older certificate (rotation, adoption): if the console ` +
      `lets you edit that entry, replace its certificate and key there, which should not interrupt media.`,
    `     If it offers only remove and add: print the bundle first, then remove the entry and add it again at ` +
      `once. Until it is saved, e2 has no certificate for ${outs.hostname}: Cloudflare answers 526 for media ` +
      `not in its cache (cached media keeps being served).`,
    `  4. The certificate's SHA-256 fingerprint must be ${outs.expectedCertificateSha256}`,
    `  5. Run \`pulumi up\` again: it checks again and records the domain as registered.`,
  ].join("\n");
  return { summary, steps };
}

/**
 * The error the dynamic-provider host turns into "created but failed to initialise": it must carry `id`,
 * `properties` (which become the recorded outputs, and must include `__provider`, from which `read`, `update`
 * and `delete` later rebuild the provider) and `reasons`.
 */
function notInitialisedError(
  id: string,
  outs: E2CustomDomainOutputs,
  serializedProvider: string | undefined,
): InitFailureError {
  const { summary, steps } = notRegisteredMessage(outs);
  // The key is left out of the recorded outputs here. It stays in state as a secret input, which is where
  // cname-bundle reads it; whether the engine re-marks outputs of a failed step as secret cannot be verified
  // offline, so this path does not depend on it. The next diff sees the key "changed" and updates anyway.
  const { privateKeyPem: _left_out, ...withoutKey } = outs;
  return Object.assign(new Error(`${summary}\n${steps}`), {
    id,
    properties: definedOnly({ ...withoutKey, __provider: serializedProvider }),
    reasons: [summary, steps],
  });
}

/** Drops undefined fields: the host's protobuf conversion rejects them (e.g. a key left out after an init failure). */
function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

function changedInputs(oldValues: object, newValues: object): string[] {
  const olds = oldValues as Record<string, unknown>;
  const news = newValues as Record<string, unknown>;
  const normal = (name: string, value: unknown) =>
    name === "waitSeconds" && value === undefined ? 0 : value;
  return INPUT_NAMES.filter((name) => normal(name, olds[name]) !== normal(name, news[name]));
}

/**
 * Builds the provider with the given time-outs and polling pace. Tests use shorter ones; the program uses
 * {@link e2CustomDomainProvider}. Whatever `timing` holds is stored in plain text with the provider.
 */
export function makeE2CustomDomainProvider(
  timing: E2CustomDomainTiming,
): pulumi.dynamic.ResourceProvider<WithProvider<E2CustomDomainInputs>, WithProvider<E2CustomDomainOutputs>> {
  return {
    async check(_olds, news) {
      const failures = validateInputs(news);
      return { inputs: { ...news, waitSeconds: news.waitSeconds ?? 0 }, failures };
    },

    // Only the real inputs decide. `__provider` is ignored, so re-serialized provider code (another
    // compiler, a formatting change) never causes an update. Nothing is ever replaced: a new certificate or
    // endpoint is a new registration of the same domain, checked by `update`. With unchanged inputs, one
    // handshake shows whether the registration is still in place; if it is not (removed or replaced in the
    // console), an update runs and fails with the instructions.
    async diff(_id, olds, news) {
      const changed = changedInputs(olds, news);
      if (changed.length > 0) return { changes: true, replaces: [], deleteBeforeReplace: false };
      if (olds.registered !== true) return { changes: true, replaces: [], deleteBeforeReplace: false };
      const now = await checkOnce(news, timing);
      return { changes: !now.registered, replaces: [], deleteBeforeReplace: false };
    },

    async create(inputs) {
      const id = resourceId(inputs);
      const outs = await ensureRegistered(inputs, timing);
      if (!outs.registered) throw notInitialisedError(id, outs, inputs.__provider);
      return { id, outs } satisfies pulumi.dynamic.CreateResult<E2CustomDomainOutputs>;
    },

    async update(id, _olds, news) {
      const outs = await ensureRegistered(news, timing);
      if (!outs.registered) throw notInitialisedError(id, outs, news.__provider);
      return { outs } satisfies pulumi.dynamic.UpdateResult<E2CustomDomainOutputs>;
    },

    // Refresh: check once more and report what e2 serves now. A removed or replaced certificate shows up as
    // `registered: false` with the served fingerprint, and the next `pulumi up` updates (see `diff`).
    async read(id, props) {
      if (!props) return { id };
      const { __provider: _provider, ...state } = props;
      const now = await checkOnce(state, timing);
      return {
        id,
        props: definedOnly({ ...state, ...now }),
      } satisfies pulumi.dynamic.ReadResult<E2CustomDomainOutputs>;
    },

    // Nothing remote can be removed without an API. The README tells the operator to remove the CNAME in
    // the e2 console.
    async delete() {},
  };
}

/** The provider the program uses, with the default time-outs and polling pace. */
export const e2CustomDomainProvider = makeE2CustomDomainProvider(DEFAULT_E2_CUSTOM_DOMAIN_TIMING);

/**
 * iDrive e2's custom-domain registration for the media host, verified on every `pulumi up` by a TLS
 * handshake. See the file comment for what it can and cannot do.
 */
export class E2CustomDomain extends pulumi.dynamic.Resource {
  declare public readonly endpoint: pulumi.Output<string>;
  declare public readonly hostname: pulumi.Output<string>;
  declare public readonly cnameDomain: pulumi.Output<string>;
  declare public readonly certificatePem: pulumi.Output<string>;
  declare public readonly privateKeyPem: pulumi.Output<string>;
  declare public readonly waitSeconds: pulumi.Output<number>;
  declare public readonly registered: pulumi.Output<boolean>;
  declare public readonly expectedCertificateSha256: pulumi.Output<string>;
  declare public readonly servedCertificateSha256: pulumi.Output<string>;
  declare public readonly checkError: pulumi.Output<string>;
  declare public readonly checkedAt: pulumi.Output<string>;

  constructor(name: string, args: E2CustomDomainArgs, opts?: pulumi.CustomResourceOptions) {
    // Arguments known now are judged now, before anything is registered; Outputs wait for `check`.
    const now = (value: unknown) =>
      typeof value === "string" || typeof value === "number" ? value : UNKNOWN;
    const failures = validateInputs({
      endpoint: now(args.endpoint),
      hostname: now(args.hostname),
      cnameDomain: now(args.cnameDomain),
      certificatePem: now(args.certificatePem),
      privateKeyPem: now(args.privateKeyPem),
      waitSeconds: args.waitSeconds === undefined ? undefined : now(args.waitSeconds),
    });
    if (failures.length > 0) {
      throw new pulumi.InputPropertiesError({
        message: `${name}: invalid E2CustomDomain arguments: ${failures.map((f) => f.reason).join("; ")}`,
        errors: failures.map((f) => ({ propertyPath: f.property, reason: f.reason })),
      });
    }
    super(
      e2CustomDomainProvider,
      name,
      {
        endpoint: args.endpoint,
        hostname: args.hostname,
        cnameDomain: args.cnameDomain,
        certificatePem: args.certificatePem,
        privateKeyPem: pulumi.secret(args.privateKeyPem),
        waitSeconds: args.waitSeconds ?? 0,
        // Outputs only: listed so the SDK creates them.
        registered: undefined,
        expectedCertificateSha256: undefined,
        servedCertificateSha256: undefined,
        checkError: undefined,
        checkedAt: undefined,
      },
      // The dynamic-provider host receives secrets unwrapped and returns the key as a plain output; this
      // marks it secret again in state and in the program.
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["privateKeyPem"] }),
      E2_CUSTOM_DOMAIN_MODULE,
      E2_CUSTOM_DOMAIN_TYPE_NAME,
    );
  }
}
