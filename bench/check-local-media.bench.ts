// Benchmark of runtime/check-local-media.sh: `node --import tsx bench/check-local-media.bench.ts [--files N]`.
// Prints figures; asserts nothing about time.
//
// How long the env push's local-media check takes on a Mastodon-sized public/system: it lists every file once
// (find | awk reservoir sampling) and then requests 20 of them from the media host. Measured with dash, mawk
// and curl (Debian's defaults) against a real HTTPS server on 127.0.0.1 that serves every file, for trees of
// 1 000, 10 000 and N (default 100 000) files, each timed cold-ish (first run) and again. A real media host adds
// a network round trip per request; a real disk with a cold cache makes the listing slower. So these are
// floors for the listing and the request overhead, not a forecast.
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { performance } from "node:perf_hooks";
import { startMediaFilesServer } from "../tests/support/media-files-server";

const SCRIPT = path.join(__dirname, "..", "runtime", "check-local-media.sh");

function filesFromArgs(): number {
  const i = process.argv.indexOf("--files");
  const n = i >= 0 ? Number(process.argv[i + 1]) : 100_000;
  if (!Number.isInteger(n) || n < 1) throw new Error("--files needs a positive whole number");
  return n;
}

/** Mastodon-like keys: id-partitioned directories, a few files each. */
function makeTree(dir: string, count: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) {
    const id = String(i >> 2).padStart(9, "0");
    const partition = `${id.slice(0, 3)}/${id.slice(3, 6)}/${id.slice(6, 9)}`;
    const key = `media_attachments/files/${partition}/original/f${i}.png`;
    fs.mkdirSync(path.join(dir, path.dirname(key)), { recursive: true });
    fs.writeFileSync(path.join(dir, key), "");
    keys.push(key);
  }
  return keys;
}

function runCheck(
  dir: string,
  baseUrl: string,
  caFile: string,
): Promise<{ ms: number; code: number | null }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn("dash", [SCRIPT, dir, baseUrl, "files", "s3.example.test"], {
      env: { PATH: process.env.PATH, CURL_CA_BUNDLE: caFile, LC_ALL: "C" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) return reject(new Error(`check failed (${code}): ${stderr}`));
      resolve({ ms: performance.now() - started, code });
    });
  });
}

async function main(): Promise<void> {
  const largest = filesFromArgs();
  const server = await startMediaFilesServer();
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "bench-local-media-"));
  try {
    console.log("local-media check (dash, mawk, curl; HTTPS server on 127.0.0.1; 20 sampled files)");
    for (const count of [...new Set([1_000, 10_000, largest])].sort((a, b) => a - b)) {
      const dir = path.join(root, String(count));
      const made = performance.now();
      for (const key of makeTree(dir, count)) server.keys.add(key);
      const makeMs = performance.now() - made;
      const first = await runCheck(dir, server.baseUrl, server.caFile);
      const second = await runCheck(dir, server.baseUrl, server.caFile);
      console.log(
        `  ${String(count).padStart(7)} files: ${(first.ms / 1000).toFixed(2)} s, again ${(second.ms / 1000).toFixed(2)} s` +
          ` (tree made in ${(makeMs / 1000).toFixed(1)} s)`,
      );
    }
  } finally {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

void main();
