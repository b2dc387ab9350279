// The migrate tool's copy and verify against the alternatives, in one run on one Ceph RGW: a directory of
// Paperclip-shaped files (keys as Mastodon makes them, sizes from a few KB to a few MB) copied into three fresh
// buckets by
//   a. `npm run migrate -- copy` (our flags),
//   b. a bare `rclone copy` with rclone's defaults,
//   c. `aws s3 sync` (awscli), skipped with the reason when `aws` is not installed,
// then `migrate verify` of the copied bucket. Prints figures and the ratio ours / fastest other; asserts nothing.
// BENCH_MIGRATE_FILES sets the file count (default 5000).
import { spawn, spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as https from "node:https";
import * as os from "node:os";
import * as path from "node:path";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import { cephRgwSkipReason, startCephRgw, type CephRgw } from "../tests/support/ceph-rgw";
import { runMigrate, writePulumiStandIn } from "../tests/support/migrate-run";
import { which } from "../tests/support/which";
import { s3RemoteEnv } from "../tools/migrate/rclone-env";

const FILES = Number(process.env.BENCH_MIGRATE_FILES ?? 5000);

/** A deterministic pseudo-random sequence, so every run copies the same tree. */
function* numbers(seed: number): Generator<number> {
  let x = seed;
  for (;;) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    yield x / 2 ** 31;
  }
}

/**
 * Paperclip's shape: per media attachment an original and a small; avatars and headers; remote media under
 * cache/. Sizes: smalls and avatars 4-60 KB, originals 50-250 KB, one in 50 a video of 1-3 MB (about 0.5 GB
 * in all for 5000 files: modest, so three copies fit the test cluster's memory).
 */
function makeTree(root: string): { bytes: number } {
  const r = numbers(42);
  const next = () => r.next().value as number;
  const partition = () =>
    Array.from({ length: 6 }, () => String(Math.floor(next() * 1000)).padStart(3, "0")).join("/");
  // Paperclip's file names: 16 hex characters.
  let serial = 0;
  const hex = () => createHash("sha256").update(String(serial++)).digest("hex").slice(0, 16);
  let bytes = 0;
  const write = (key: string, size: number) => {
    fs.mkdirSync(path.join(root, path.dirname(key)), { recursive: true });
    fs.writeFileSync(path.join(root, key), randomBytes(size));
    bytes += size;
  };
  let n = 0;
  while (n < FILES) {
    const kind = next();
    const id = partition();
    const name = hex();
    if (kind < 0.6) {
      const prefix = next() < 0.5 ? "cache/" : "";
      const video = next() < 0.02;
      const ext = video ? "mp4" : "jpg";
      const original = video ? 1_000_000 + next() * 2_000_000 : 50_000 + next() * 200_000;
      write(`${prefix}media_attachments/files/${id}/original/${name}.${ext}`, Math.floor(original));
      write(`${prefix}media_attachments/files/${id}/small/${name}.jpg`, Math.floor(4_000 + next() * 56_000));
      n += 2;
    } else {
      const prefix = next() < 0.7 ? "cache/" : "";
      const what = next() < 0.7 ? "avatars" : "headers";
      write(`${prefix}accounts/${what}/${id}/original/${name}.png`, Math.floor(4_000 + next() * 56_000));
      n += 1;
    }
  }
  return { bytes };
}

function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`${cmd} exited ${code}: ${stderr.split("\n").slice(-5).join("\n")}`));
      else resolve(performance.now() - started);
    });
  });
}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function main() {
  const skip = cephRgwSkipReason() ?? (which("rclone") ? undefined : "rclone is not installed");
  if (skip) return console.log(`  skipped: ${skip}`);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "migrate-bench-"));
  let rgw: CephRgw | undefined;
  try {
    const src = path.join(work, "system");
    const { bytes } = makeTree(src);
    rgw = await startCephRgw({ memstoreBytes: 4 * 2 ** 30 });
    const key = await rgw.createUser("bench");
    const s3 = new S3Client({
      endpoint: rgw.httpsUrl,
      region: "us-east-1",
      forcePathStyle: true,
      credentials: key,
      requestHandler: { httpsAgent: new https.Agent({ ca: rgw.caPem }) },
    });
    console.log(
      `  ${FILES} files, ${(bytes / 2 ** 20).toFixed(0)} MiB, directory → Ceph RGW over HTTPS on loopback`,
    );

    const base = { PATH: process.env.PATH, HOME: work, SSL_CERT_FILE: rgw.caFile };
    const stackFor = (bucket: string) =>
      writePulumiStandIn({
        config: {
          domain: "example.social",
          e2Endpoint: "s3.eu-central-2.idrivee2.com",
          e2AccessKeyId: key.accessKeyId,
          e2SecretAccessKey: key.secretAccessKey,
        },
        secrets: ["e2AccessKeyId", "e2SecretAccessKey"],
        outputs: { bucketName: bucket, e2Endpoint: rgw!.endpointHost },
      }).pulumi;

    const rcloneEnv = {
      ...base,
      ...s3RemoteEnv({ name: "e2", provider: "IDrive", endpoint: rgw.endpointHost, key }),
    };
    const awsEnv = {
      PATH: process.env.PATH,
      HOME: work,
      AWS_ACCESS_KEY_ID: key.accessKeyId,
      AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
      AWS_DEFAULT_REGION: "us-east-1",
      AWS_CA_BUNDLE: rgw.caFile,
      // Current botocore sends checksums S3-compatible servers may refuse (FACTS.md, Mastodon); as Mastodon does.
      AWS_REQUEST_CHECKSUM_CALCULATION: "WHEN_REQUIRED",
      AWS_RESPONSE_CHECKSUM_VALIDATION: "WHEN_REQUIRED",
    };
    const haveAws = which("aws") !== undefined;
    if (!haveAws) console.log("  aws s3 sync: skipped (`aws` is not installed; Debian's package is awscli)");
    else console.log(`  ${spawnSync("aws", ["--version"], { encoding: "utf8" }).stdout.trim()}`);
    // Each into a fresh bucket, in two rounds of alternating order, so that neither warm-up nor order favours
    // one; the best of each counts.
    const runs: Record<string, number[]> = { ours: [], bare: [], awscli: [] };
    const copyInto = async (tool: string, bucket: string): Promise<void> => {
      await s3.send(new CreateBucketCommand({ Bucket: bucket }));
      const started = performance.now();
      if (tool === "ours") {
        const r = await runMigrate(stackFor(bucket), ["copy", "--from", src], base);
        if (r.code !== 0) throw new Error(`migrate copy failed: ${r.stderr}`);
      } else if (tool === "bare") {
        await timed("rclone", ["copy", src, `e2:${bucket}`, "--config=/dev/null"], rcloneEnv);
      } else {
        const args = [
          "s3",
          "sync",
          src,
          `s3://${bucket}`,
          "--endpoint-url",
          rgw!.httpsUrl,
          "--only-show-errors",
        ];
        await timed("aws", args, awsEnv);
      }
      runs[tool]!.push(performance.now() - started);
    };
    const order = [
      ["ours", "bare", "awscli"],
      ["awscli", "bare", "ours"],
    ];
    for (const [round, tools] of order.entries())
      for (const tool of tools) if (tool !== "awscli" || haveAws) await copyInto(tool, `${tool}-${round}`);
    const labels: Record<string, string> = {
      ours: "npm run migrate -- copy",
      bare: "rclone copy (defaults)",
      awscli: "aws s3 sync",
    };
    const best: Record<string, number> = {};
    for (const [tool, times] of Object.entries(runs)) {
      if (times.length === 0) continue;
      best[tool] = Math.min(...times);
      console.log(
        `  ${labels[tool]!.padEnd(28)} best ${secs(best[tool])}  (${(bytes / 2 ** 20 / (best[tool] / 1000)).toFixed(1)} MiB/s, ${(FILES / (best[tool] / 1000)).toFixed(0)} files/s; runs ${times.map(secs).join(", ")})`,
      );
    }
    const fastestOther = Math.min(
      ...Object.entries(best)
        .filter(([t]) => t !== "ours")
        .map(([, ms]) => ms),
    );
    console.log(`  ratio ours / fastest other: ${(best.ours! / fastestOther).toFixed(2)} (goal ≤ 1.05)`);

    const pulumi = stackFor("ours-0");
    const started = performance.now();
    const verified = await runMigrate(pulumi, ["verify", "--from", src], base);
    const verifyMs = performance.now() - started;
    console.log(`  npm run migrate -- verify: ${secs(verifyMs)} (exit ${verified.code}; goal < 15 s)`);
  } finally {
    await rgw?.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  console.error(`migrate bench failed: ${err.message}`);
  process.exitCode = 1;
});
