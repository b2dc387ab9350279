// The pure half of the media check: the checks, the probes, the back-off schedule and the redaction of printed
// lines; input validation (media-check-inputs.ts) and the verdicts (media-check-judges.ts) are re-exported from
// here. No I/O in any of them, so every rule is unit-tested directly; runtime/media-check.ts does the network
// calls and feeds the answers in.
import { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS } from "../components/media-check-limits";
// The probe lives under the prefix the bucket policy makes public on purpose (one definition, shared).
import { PROBE_PREFIX } from "../components/media-paths";
import { MIN_PART_BYTES } from "../components/mastodon-env";

/** Every check, in the order it runs and is reported. The first failed one names the failure. */
export const CHECKS = [
  "upload",
  "e2-listing-refused",
  "e2-put-refused",
  "e2-delete-refused",
  "e2-backups-private",
  "tls",
  "get",
  "cf-ray",
  "cors",
  "edge-listing-refused",
  "edge-put-refused",
  "edge-delete-refused",
  "mastodon-write",
  "mastodon-read",
  "mastodon-served",
  "mastodon-batch-delete",
  "cleanup",
] as const;

/**
 * The checks of the multipart probe (runtime/multipart-check.ts, its own Command: it runs only when Mastodon's
 * key, the endpoint, the bucket or the threshold changed), in order.
 */
export const MULTIPART_CHECKS = ["mastodon-multipart", "mastodon-batch-delete", "cleanup"] as const;
export type CheckName = (typeof CHECKS)[number] | (typeof MULTIPART_CHECKS)[number];

/**
 * The anonymous checks made straight at the e2 endpoint, path-style, where the bucket policy is the only guard
 * (the media host's `methods` rule refuses writes and listings before e2 sees them, so the edge cannot tell
 * whether the bucket itself is safe).
 */
export const ENDPOINT_CHECKS = CHECKS.filter((c) => c.startsWith("e2-"));

/** The checks made through the media host; repeated as a whole until they pass or time runs out. */
export const EDGE_CHECKS = CHECKS.filter(
  (c) => c !== "upload" && c !== "cleanup" && !c.startsWith("mastodon-") && !c.startsWith("e2-"),
);

/**
 * The calls Mastodon makes, with the key Mastodon gets (its own, or the program's when it shares it), run after
 * the edge passed: PutObject with Mastodon's headers, signed GetObject, served to readers, DeleteObjects.
 */
export const MASTODON_CHECKS = CHECKS.filter((c) => c.startsWith("mastodon-"));

export { PROBE_PREFIX };
export { MASTODON_CACHE_CONTROL } from "../components/mastodon-env";
export * from "./media-check-inputs";
export * from "./media-check-judges";

export { DEFAULT_TIMEOUT_SECONDS, MAX_TIMEOUT_SECONDS };
/** Bodies are read up to this many bytes: enough to compare the probe and recognise a listing. */
export const MAX_BODY_BYTES = 64 * 1024;

export interface Verdict {
  check: CheckName;
  ok: boolean;
  /** Why it failed; never contains a secret (built from status codes, header names, S3 error codes). */
  reason?: string;
  /** False when waiting cannot help (a writable or listable bucket, a rejected key). */
  retryable: boolean;
}

/** What the checks need from an HTTP answer. Header names lower-case, as node gives them. */
export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** The probe's content: recognisable by a person who finds it, unique to this run. */
export function probeContent(token: string, mediaHost: string): string {
  return `mastodon-media check probe for ${mediaHost}\ntoken ${token}\n`;
}

/** The probe objects of one run: the program key's, the private one under backups/, and Mastodon's key's. */
export interface ProbeKeys {
  program: string;
  /** Written with the program's key and no ACL, like a user's archive: anonymous reads must be refused. */
  backups: string;
  mastodon: string;
  /** The multipart probe (runtime/multipart-check.ts). */
  multipart: string;
}

/**
 * Where the private probe goes: under Mastodon's `backups/` (users' archives, PRIVATE_PREFIXES in
 * components/media-paths.ts), beside Mastodon's own `backups/dumps/…`, never on one of its keys.
 */
export const BACKUPS_PROBE_PREFIX = "backups/_mastodon-media-probe-";

/**
 * Object keys of this run's probes, from the run's random token: new keys every run, so no copy an edge or
 * browser cached from an earlier run can answer for this one, and no earlier run's leftover is overwritten.
 * Always under {@link PROBE_PREFIX} or {@link BACKUPS_PROBE_PREFIX}: the check never writes or deletes
 * anything else.
 */
export function probeKeys(token: string): ProbeKeys {
  if (!/^[0-9a-f]{16,64}$/.test(token)) throw new Error("probe token must be 16-64 lower-case hex digits");
  return {
    program: `${PROBE_PREFIX}${token}.txt`,
    backups: `${BACKUPS_PROBE_PREFIX}${token}`,
    mastodon: `${PROBE_PREFIX}${token}-mastodon.txt`,
    multipart: `${PROBE_PREFIX}${token}-multipart.bin`,
  };
}

/**
 * Size and part size of the multipart probe for a threshold: one byte above it (Mastodon's SDK goes multipart
 * at `size >= threshold`, aws-sdk-s3 file_uploader.rb), cut into parts as that SDK cuts a file of that size
 * (multipart_file_uploader.rb `compute_default_part_size`: the larger of size / 10000 and 5 MiB).
 */
export function multipartProbeShape(thresholdBytes: number): { size: number; partSize: number } {
  const size = thresholdBytes + 1;
  return { size, partSize: Math.max(Math.ceil(size / 10_000), MIN_PART_BYTES) };
}

/**
 * Back-off before attempt `attempt + 1` (attempt counts from 1): 0.5 s doubling, capped at `maxMs`
 * (15 s) so a check that settles late is still noticed soon after.
 */
export function backoffDelayMs(attempt: number, initialMs = 500, maxMs = 15_000): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}

/**
 * How long to wait before the next attempt, or undefined when the deadline has passed. The last wait is
 * cut to end exactly at the deadline, so one final attempt runs then.
 */
export function nextWaitMs(attempt: number, nowMs: number, deadlineMs: number): number | undefined {
  if (nowMs >= deadlineMs) return undefined;
  return Math.min(backoffDelayMs(attempt), deadlineMs - nowMs);
}

export function firstFailure(verdicts: Verdict[]): Verdict | undefined {
  return verdicts.find((v) => !v.ok);
}

/** `ok   <check>` or `FAIL <check>: <reason>`. */
export function formatVerdict(v: Verdict): string {
  return v.ok ? `ok   ${v.check}` : `FAIL ${v.check}: ${v.reason ?? "failed"}`;
}

/**
 * Returns a function that replaces every occurrence of the given values (the secret key, the key ID, each
 * request signature) with `[redacted]`: a last guard on every printed line.
 */
export function redactor(values: () => Iterable<string>): (text: string) => string {
  return (text) => {
    let out = text;
    for (const v of values()) {
      if (v.length >= 4) out = out.split(v).join("[redacted]");
    }
    return out;
  };
}
