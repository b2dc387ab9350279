// Every rclone flag the migrate tool passes, in one place, each with why. All exist in rclone 1.60.1, Debian's
// (`rclone help flags`, `rclone help backend s3`). Mastodon's media is millions of small files: listing and
// per-file round trips cost more than bytes, so the choices below cut requests per file.
//
// None of these carries a secret: the keys travel in the rclone process's environment (rclone-env.ts).

import { MASTODON_CACHE_CONTROL } from "../../components/mastodon-env";

// What Mastodon stores on each upload; copied objects get the same.
export { MASTODON_CACHE_CONTROL };

/** Seconds between progress reports: at least every 10 s, as the operator watches hours of copying. */
export const STATS_SECONDS = 5;

/**
 * Parallel uploads. Small files are latency-bound, so more in flight than rclone's 4 (e2 allows 1000
 * connections per account); not many more, because rclone's and the server's CPU then becomes the limit: on the
 * bench (2 cores, RGW on loopback) 32 was 1.2× slower than rclone's defaults, 8 was 0.95× (bench/migrate.bench.ts).
 */
export const TRANSFERS = 8;
/** Parallel size comparisons (checkers) while walking both sides: twice the transfers, as rclone's defaults. */
export const CHECKERS = 16;

/** On every run. */
export const COMMON_FLAGS: readonly string[] = [
  // No config file is read or written: the remotes come from the environment, "/dev/null" keeps rclone's
  // config in memory only (rclone docs, "--config").
  "--config=/dev/null",
  // One JSON object per log line: we parse them and print counts only, never a line as is (lines name objects).
  "--use-json-log",
  // The bucket already exists (pulumi up made it), and Mastodon's key may not create or check buckets.
  "--s3-no-check-bucket",
];

/** Listing one side (plan, verify): a recursive listing we compare ourselves. */
export const LIST_FLAGS: readonly string[] = [
  "--recursive",
  "--files-only",
  // Without these rclone asks each object's metadata (one HEAD per object on S3); key and size are enough.
  "--no-modtime",
  "--no-mimetype",
  // One recursive ListObjects walk instead of one per directory: Paperclip's id partition makes millions of dirs.
  "--fast-list",
];

/** A quick look at the top of one side, to name the side that refuses before any work starts. */
export const PROBE_FLAGS: readonly string[] = ["--max-depth=1", "--no-modtime", "--no-mimetype"];

/** `rclone copy` (never sync or move: nothing is deleted or moved at either end). */
export const COPY_FLAGS: readonly string[] = [
  // "Copies what the bucket lacks or holds with another size": skip on size, no modtime (a HEAD per object).
  "--size-only",
  `--transfers=${TRANSFERS}`,
  `--checkers=${CHECKERS}`,
  // See LIST_FLAGS: walk each side in one recursive listing.
  "--fast-list",
  // After a PUT answered 200 with the ETag, no extra HEAD per object to re-read what was just stored.
  "--s3-no-head",
  // What Mastodon itself stores; Content-Type comes from the extension (rclone's default for uploads).
  `--header-upload=Cache-Control: ${MASTODON_CACHE_CONTROL}`,
  // Progress at a steady beat, as a JSON log line we turn into counts (no file names).
  `--stats=${STATS_SECONDS}s`,
  "--stats-log-level=NOTICE",
];
