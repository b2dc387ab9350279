// Listings of both sides (`rclone lsjson`), tallied per top-level prefix and compared by us: plan and verify
// are the same complete comparison. Keys stay in memory and go nowhere but the operator's --list file.

/** Objects and bytes. */
export interface Tally {
  objects: number;
  bytes: number;
}

/** One top-level prefix (`accounts/`, `media_attachments/`, `cache/`, …). */
export interface PrefixReport {
  source: Tally;
  bucket: Tally;
  /** In the bucket with the source's size. */
  present: Tally;
  /** Not in the bucket. */
  missing: Tally;
  /** In the bucket with another size. */
  different: Tally;
}

/** Files at the top of the tree (no prefix). */
export const TOP_LEVEL = "(top level)";

/** The top-level prefix of a key: `media_attachments/` for `media_attachments/files/…`. */
export function prefixOf(key: string): string {
  const slash = key.indexOf("/");
  return slash < 0 ? TOP_LEVEL : key.slice(0, slash + 1);
}

/**
 * Parses one line of `rclone lsjson` output (`[`, `{…},`, `{…}`, `]`) into a key and size; undefined for the
 * brackets. rclone prints one object per line.
 */
export function lsjsonEntry(line: string): { key: string; size: number } | undefined {
  const text = line.trim().replace(/,$/, "");
  if (!text.startsWith("{")) return undefined;
  const item = JSON.parse(text) as { Path?: unknown; Size?: unknown; IsDir?: unknown };
  if (item.IsDir === true || typeof item.Path !== "string" || typeof item.Size !== "number") return undefined;
  return { key: item.Path, size: item.Size };
}

const zero = (): Tally => ({ objects: 0, bytes: 0 });
const add = (t: Tally, bytes: number) => {
  t.objects += 1;
  t.bytes += bytes;
};

/** Builds the per-prefix comparison as the source listing streams in, against the bucket's listing. */
export class Comparison {
  readonly prefixes = new Map<string, PrefixReport>();
  /** Keys of source objects the bucket lacks or holds with another size (for --list). */
  readonly toCopy: string[] = [];
  private readonly bucket = new Map<string, number>();

  private report(prefix: string): PrefixReport {
    let r = this.prefixes.get(prefix);
    if (!r) {
      r = { source: zero(), bucket: zero(), present: zero(), missing: zero(), different: zero() };
      this.prefixes.set(prefix, r);
    }
    return r;
  }

  /** Call for every bucket object first. */
  addBucket(key: string, size: number): void {
    this.bucket.set(key, size);
    add(this.report(prefixOf(key)).bucket, size);
  }

  /** Then for every source object. */
  addSource(key: string, size: number): void {
    const r = this.report(prefixOf(key));
    add(r.source, size);
    const inBucket = this.bucket.get(key);
    if (inBucket === size) return add(r.present, size);
    add(inBucket === undefined ? r.missing : r.different, size);
    this.toCopy.push(key);
  }

  /** Prefixes in name order, with a total. */
  rows(): [string, PrefixReport][] {
    return [...this.prefixes.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  total(): PrefixReport {
    const t: PrefixReport = {
      source: zero(),
      bucket: zero(),
      present: zero(),
      missing: zero(),
      different: zero(),
    };
    for (const r of this.prefixes.values())
      for (const k of Object.keys(t) as (keyof PrefixReport)[]) {
        t[k].objects += r[k].objects;
        t[k].bytes += r[k].bytes;
      }
    return t;
  }
}
