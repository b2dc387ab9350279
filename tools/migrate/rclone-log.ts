// rclone's JSON log (--use-json-log) turned into what the operator may see: counts, bytes, rate and time left
// from its stats lines, and error messages with every object name taken out. A media key is all that protects
// followers-only and direct attachments, and these logs end up in terminals, tickets and CI logs.

export interface Stats {
  bytes: number;
  totalBytes: number;
  /** Files copied. */
  transfers: number;
  totalTransfers: number;
  /** Files compared and found already there. */
  checks: number;
  errors: number;
  /** Bytes per second. */
  speed: number;
  /** Seconds left, when rclone knows. */
  eta: number | null;
  elapsedTime: number;
}

export interface LogLine {
  level: string;
  msg: string;
  object?: string;
  stats?: Stats;
}

/** A JSON log line of rclone, or undefined for anything else. */
export function parseLogLine(line: string): LogLine | undefined {
  if (!line.startsWith("{")) return undefined;
  try {
    const v = JSON.parse(line) as Record<string, unknown>;
    if (typeof v.level !== "string" || typeof v.msg !== "string") return undefined;
    return {
      level: v.level,
      msg: v.msg,
      ...(typeof v.object === "string" ? { object: v.object } : {}),
      ...(typeof v.stats === "object" && v.stats !== null ? { stats: v.stats as Stats } : {}),
    };
  } catch {
    return undefined;
  }
}

/**
 * An rclone message with no object name left: the object the line is about, any URL's path (S3 errors quote
 * the request URL, key included), and anything under the given local roots.
 */
export function redact(msg: string, object: string | undefined, roots: readonly string[]): string {
  let out = msg;
  if (object) out = out.split(object).join("<object>");
  out = out.replace(/\b(https?:\/\/[^/\s"']+)\/[^\s"']*/g, "$1/…");
  for (const root of roots) {
    if (!root || root === "/") continue;
    const escaped = root.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    out = out.replace(new RegExp(`${escaped}/[^\\s"':]*`, "g"), `${root}/…`);
  }
  return out.replace(/\s+/g, " ").trim();
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];
/** 1536 → "1.5 KiB". */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(1)} ${UNITS[u]}`;
}

/** 3725 → "1h02m05s". */
export function formatSeconds(s: number): string {
  const t = Math.max(0, Math.round(s));
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = t % 60;
  const pad = (x: number) => String(x).padStart(2, "0");
  return h > 0 ? `${h}h${pad(m)}m${pad(sec)}s` : m > 0 ? `${m}m${pad(sec)}s` : `${sec}s`;
}

/** One progress line from a stats line: files, bytes, rate, time left. */
export function progressLine(s: Stats): string {
  const eta = s.eta === null || s.eta === undefined ? "-" : formatSeconds(s.eta);
  return (
    `copy: ${s.transfers}/${s.totalTransfers} files copied, ${s.checks} already there, ` +
    `${formatBytes(s.bytes)}/${formatBytes(s.totalBytes)}, ${formatBytes(s.speed)}/s, ` +
    `${s.errors} errors, ${formatSeconds(s.elapsedTime)} elapsed, ${eta} left`
  );
}

/** Collects a run's errors (redacted, de-duplicated) and its last stats. */
export class LogSummary {
  last?: Stats;
  readonly errors = new Map<string, number>();
  constructor(
    private readonly roots: readonly string[],
    private readonly onStats?: (s: Stats) => void,
  ) {}

  line(raw: string): void {
    const line = parseLogLine(raw);
    if (!line) return;
    if (line.stats) {
      this.last = line.stats;
      this.onStats?.(line.stats);
      return;
    }
    if (line.level === "error" || line.level === "critical") {
      const msg = redact(line.msg, line.object, this.roots);
      this.errors.set(msg, (this.errors.get(msg) ?? 0) + 1);
    }
  }

  /** Up to `n` distinct error messages, with how often each came. */
  firstErrors(n = 3): string[] {
    return [...this.errors.entries()].slice(0, n).map(([m, c]) => (c > 1 ? `${m} (×${c})` : m));
  }
}
