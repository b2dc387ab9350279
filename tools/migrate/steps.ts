// The three steps. plan and verify list both sides and compare (nothing is written anywhere); copy runs
// `rclone copy` (never sync or move: nothing is deleted or moved at either end; a re-run copies only what is
// still missing or of another size).
import * as fs from "node:fs";
import { Comparison, lsjsonEntry } from "./listing";
import { COMMON_FLAGS, COPY_FLAGS, LIST_FLAGS, PROBE_FLAGS, STATS_SECONDS } from "./rclone-flags";
import { formatBytes, formatSeconds, LogSummary, progressLine } from "./rclone-log";
import { planTable, verifyTable } from "./report";
import type { Runner } from "./runner";
import { sideFailure, type Side } from "./sides";
import { MigrateError } from "./errors";

export interface StepContext {
  runner: Runner;
  source: Side;
  bucket: Side;
  out: (text: string) => void;
  err: (text: string) => void;
  /** Local roots whose paths are taken out of rclone's messages. */
  roots: string[];
  /** What plan says about old `/system/` URLs; only when the source is local storage. */
  oldUrlsAdvice?: string;
}

/** Lists one side into `onEntry`; throws a MigrateError naming the side when rclone fails. */
async function list(
  ctx: StepContext,
  side: Side,
  onEntry: (key: string, size: number) => void,
): Promise<number> {
  const log = new LogSummary(ctx.roots);
  let count = 0;
  // A listing of millions of objects takes minutes: a count at the same beat as copy's progress.
  const timer = setInterval(
    () => ctx.err(`listing ${side.kind}: ${count} objects so far\n`),
    STATS_SECONDS * 2000,
  );
  try {
    const result = await ctx.runner.rclone(
      ["lsjson", side.path, ...COMMON_FLAGS, ...LIST_FLAGS],
      side.env,
      (line) => {
        const entry = lsjsonEntry(line);
        if (!entry) return;
        count++;
        onEntry(entry.key, entry.size);
      },
      (line) => log.line(line),
    );
    if (result.code !== 0)
      throw new MigrateError(
        sideFailure(side, "listing", [...log.firstErrors(), ...result.plainTail.slice(-1)], result.code),
      );
  } finally {
    clearInterval(timer);
  }
  return count;
}

/** Both listings, compared. */
export async function compare(ctx: StepContext): Promise<Comparison> {
  const c = new Comparison();
  ctx.err(`listing the ${ctx.bucket.label}…\n`);
  await list(ctx, ctx.bucket, (k, s) => c.addBucket(k, s));
  ctx.err(`listing the ${ctx.source.label}…\n`);
  await list(ctx, ctx.source, (k, s) => c.addSource(k, s));
  return c;
}

export async function plan(ctx: StepContext): Promise<number> {
  const c = await compare(ctx);
  const t = c.total();
  ctx.out(planTable(c));
  const n = t.missing.objects + t.different.objects;
  ctx.out(
    `plan: copy would transfer ${n} objects (${formatBytes(t.missing.bytes + t.different.bytes)}): ` +
      `${t.missing.objects} missing from the bucket, ${t.different.objects} of another size. Nothing was changed.\n`,
  );
  if (ctx.oldUrlsAdvice) ctx.out(`\n${ctx.oldUrlsAdvice}`);
  return 0;
}

export async function verify(ctx: StepContext, listFile?: string): Promise<number> {
  const c = await compare(ctx);
  const t = c.total();
  ctx.out(verifyTable(c));
  if (listFile !== undefined) {
    // Keys go to the operator's file only, never to the output.
    fs.writeFileSync(listFile, c.toCopy.map((k) => `${k}\n`).join(""), { mode: 0o600 });
    ctx.out(`verify: the keys of ${c.toCopy.length} objects missing or of another size are in ${listFile}\n`);
  }
  if (t.missing.objects + t.different.objects === 0) {
    ctx.out(
      `verify: complete: all ${t.source.objects} source objects are in the bucket with the same size.\n`,
    );
    return 0;
  }
  ctx.out(
    `verify: INCOMPLETE: ${t.missing.objects} missing, ${t.different.objects} of another size ` +
      `(of ${t.source.objects}). Run copy again, then verify.\n`,
  );
  return 1;
}

/** A quick listing of the top of one side, so that a refusal is named before anything is copied. */
async function probe(ctx: StepContext, side: Side): Promise<void> {
  const log = new LogSummary(ctx.roots);
  const r = await ctx.runner.rclone(
    ["lsjson", side.path, ...COMMON_FLAGS, ...PROBE_FLAGS],
    side.env,
    () => {},
    (line) => log.line(line),
  );
  if (r.code !== 0)
    throw new MigrateError(
      sideFailure(side, "reading", [...log.firstErrors(), ...r.plainTail.slice(-1)], r.code),
    );
}

export async function copy(ctx: StepContext): Promise<number> {
  await probe(ctx, ctx.source);
  await probe(ctx, ctx.bucket);
  const started = performance.now();
  const log = new LogSummary(ctx.roots, (s) => ctx.err(`${progressLine(s)}\n`));
  ctx.err(
    `copy: from the ${ctx.source.label} to the ${ctx.bucket.label}; progress every ${STATS_SECONDS} s\n`,
  );
  const r = await ctx.runner.rclone(
    ["copy", ctx.source.path, ctx.bucket.path, ...COMMON_FLAGS, ...COPY_FLAGS],
    { ...ctx.source.env, ...ctx.bucket.env },
    () => {},
    (line) => log.line(line),
  );
  const s = log.last;
  const seconds = (performance.now() - started) / 1000;
  const counts = s
    ? `${s.transfers} files copied (${formatBytes(s.bytes)}), ${s.checks} already in the bucket, ${s.errors} errors`
    : "no statistics from rclone";
  if (r.signal !== null || (r.code === null && r.signal === null))
    throw new MigrateError(
      `copy: rclone was stopped (${r.signal ?? "no exit status"}) after ${formatSeconds(seconds)}; ${counts}. ` +
        "Run copy again: it copies only what is still missing",
    );
  if (r.code !== 0 || (s && s.errors > 0)) {
    const errors = log.firstErrors();
    throw new MigrateError(
      `copy: finished with errors after ${formatSeconds(seconds)}: ${counts}` +
        `${errors.length ? `; rclone said: ${errors.join("; ")}` : r.plainTail.length ? `; ${r.plainTail.join(" ")}` : ""}. ` +
        "Objects that failed were not copied; fix the cause and run copy again (it resumes)",
    );
  }
  ctx.out(
    `copy: done in ${formatSeconds(seconds)}: ${counts}. Nothing was deleted or moved at either end. ` +
      "Next: verify.\n",
  );
  return 0;
}
