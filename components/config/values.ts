// Parsers of single scalar values: DNS names, endpoint, region, choices, numbers, booleans, JSON.
import { DEFAULTS } from "./keys";
import { show, type Problems } from "./problems";

const DNS_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const REGION = /^[a-z]{2}(-[a-z0-9]+)+$/;
export const ZONE_ID = /^[0-9a-f]{32}$/;
export const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
const E2_REGIONAL_ENDPOINT = /^s3\.([a-z0-9-]+)\.idrivee2\.com$/;

export function isDnsName(name: string): boolean {
  const labels = name.split(".");
  return name.length <= 253 && labels.length >= 2 && labels.every((l) => DNS_LABEL.test(l));
}

export function parseDomain(value: unknown, problems: Problems): string | undefined {
  if (value === undefined)
    return problems.add("domain", value, "the Cloudflare zone apex of the instance, e.g. example.social");
  if (typeof value !== "string")
    return problems.add("domain", value, "a DNS name such as example.social (no scheme, no path)");
  const domain = value.toLowerCase().replace(/\.$/, "");
  if (!isDnsName(domain))
    return problems.add("domain", value, "a DNS name such as example.social (no scheme, no path)");
  return domain;
}

export function parseEndpoint(value: unknown, problems: Problems): string | undefined {
  const expected =
    "the e2 S3 endpoint host of the bucket's region, e.g. s3.eu-central-2.idrivee2.com (optionally with https://; no path, no port)";
  if (value === undefined || typeof value !== "string") return problems.add("e2Endpoint", value, expected);
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(value);
  if (scheme && scheme[1].toLowerCase() !== "https")
    return problems.add("e2Endpoint", value, `an https endpoint; ${expected}`);
  const host = value
    .replace(/^https:\/\//i, "")
    .replace(/\/$/, "")
    .toLowerCase();
  if (!isDnsName(host)) return problems.add("e2Endpoint", value, expected);
  return host;
}

export function parseRegion(
  value: unknown,
  endpoint: string | undefined,
  problems: Problems,
): string | undefined {
  if (value !== undefined) {
    if (typeof value !== "string" || !REGION.test(value))
      return problems.add("e2Region", value, "a region code such as eu-central-2 or us-midwest-1");
    return value;
  }
  const derived = endpoint ? E2_REGIONAL_ENDPOINT.exec(endpoint)?.[1] : undefined;
  return derived ?? DEFAULTS.fallbackRegion;
}

export function parseChoice<T extends string>(
  key: string,
  value: unknown,
  choices: readonly T[],
  problems: Problems,
): T | undefined {
  if ((choices as readonly unknown[]).includes(value)) return value as T;
  return problems.add(key, value, `one of ${choices.map((c) => show(c)).join(", ")}`);
}

/** A whole number, given as digits (stack config) or as a number (program arguments). */
export function parseInteger(
  key: string,
  value: unknown,
  fallback: number,
  problems: Problems,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (value === undefined) return fallback;
  const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
  const whole =
    typeof value === "number" ? Number.isInteger(value) : typeof value === "string" && /^\d+$/.test(value);
  if (!whole || Number(value) < min || Number(value) > max)
    return problems.add(key, value, `a whole number, ${range}`);
  return Number(value);
}

/** true or false, given as text (stack config) or as a boolean (program arguments). */
export function parseBoolean(
  key: string,
  value: unknown,
  fallback: boolean,
  problems: Problems,
): boolean | undefined {
  if (value === undefined) return fallback;
  if (typeof value === "boolean") return value;
  if (value === "true" || value === "false") return value === "true";
  return problems.add(key, value, "true or false");
}

/** A structured value: JSON text from the stack config, or the value itself from program arguments. */
export function parseJson(key: string, value: unknown, problems: Problems, expected: string): unknown {
  if (typeof value !== "string") return value;
  try {
    return JSON.parse(value);
  } catch {
    return problems.add(key, value, expected);
  }
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
