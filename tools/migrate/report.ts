// What plan and verify print: one row per top-level prefix, counts and sizes only.
import type { Comparison, PrefixReport, Tally } from "./listing";
import { formatBytes } from "./rclone-log";

const cell = (t: Tally) => `${t.objects} (${formatBytes(t.bytes)})`;

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

function withTotal(c: Comparison, row: (r: PrefixReport) => string[]): string[][] {
  return [...c.rows().map(([p, r]) => [p, ...row(r)]), ["total", ...row(c.total())]];
}

/** plan: objects and bytes per prefix on each side, and what copy would transfer. */
export function planTable(c: Comparison): string {
  return table(
    ["prefix", "source", "bucket", "copy would transfer"],
    withTotal(c, (r) => [
      cell(r.source),
      cell(r.bucket),
      cell({ objects: r.missing.objects + r.different.objects, bytes: r.missing.bytes + r.different.bytes }),
    ]),
  );
}

/** verify: present, missing and different per prefix. */
export function verifyTable(c: Comparison): string {
  return table(
    ["prefix", "present", "missing", "different size"],
    withTotal(c, (r) => [String(r.present.objects), String(r.missing.objects), String(r.different.objects)]),
  );
}
