// What the e2 bucket provider costs. Prints figures, asserts nothing.
//   a. program phase: serializing the provider into state, in a fresh process (what each `pulumi up` adds
//      for the bucket, beside loading the SDK), next to the custom-domain provider for scale;
//   b. on Ceph RGW through Pulumi's dynamic-provider host: create (HeadBucket + CreateBucket) and read
//      (HeadBucket) round trips over HTTPS on loopback, and the cluster's start time.
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { cephRgwSkipReason, startCephRgw } from "../tests/support/ceph-rgw";
import { providerProto, startDynamicProviderHost, struct } from "../tests/support/dynamic-provider-host";

const ROOT = path.join(__dirname, "..");
const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${ms.toFixed(1)} ms`;

/** Serializes one exported provider in a fresh process; returns the milliseconds serializeFunction took. */
/** Runs `script` in a fresh Node process with tsx, from the project root; returns what it printed. */
function runFresh(script: string): string {
  const { NODE_OPTIONS: _tsx, ...env } = process.env;
  const r = spawnSync(process.execPath, ["--import", "tsx", "-e", script], {
    cwd: ROOT,
    env,
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
}

function serializeOnce(file: string, exported: string): { ms: number; chars: number } {
  const script = `
    const pulumi = require("@pulumi/pulumi");
    const mod = require(${JSON.stringify(file)});
    const started = performance.now();
    pulumi.runtime.serializeFunction(() => mod.${exported}, { allowSecrets: true }).then((sf) => {
      process.stdout.write(JSON.stringify({ ms: performance.now() - started, chars: sf.text.length }));
    });`;
  return JSON.parse(runFresh(script));
}

async function main() {
  console.log("a. serializing the dynamic provider (program phase, fresh process each run)");
  for (const [label, file, exported] of [
    ["e2 bucket provider", "./providers/e2-bucket.ts", "e2BucketProvider"],
    ["e2 custom-domain provider (for scale)", "./providers/e2-custom-domain.ts", "e2CustomDomainProvider"],
  ] as const) {
    const runs = Array.from({ length: RUNS }, () => serializeOnce(file, exported));
    console.log(
      `  ${label.padEnd(40)} median ${fmt(median(runs.map((r) => r.ms)))}  (runs: ${runs.map((r) => fmt(r.ms)).join(", ")}; ${runs[0]!.chars} characters)`,
    );
  }

  // In the program both providers are serialized in one process, the custom-domain one first: what the
  // bucket adds there is the second serialization, after the serializer's one-time start-up.
  const marginal = Array.from({ length: RUNS }, () => serializeBoth());
  console.log(
    `  bucket provider after the custom-domain one, same process   median ${fmt(median(marginal))}  (runs: ${marginal.map(fmt).join(", ")})`,
  );

  const skip = cephRgwSkipReason();
  if (skip) {
    console.log(`\nb. skipped: ${skip}`);
    return;
  }
  console.log("\nb. the provider in Pulumi's dynamic-provider host against Ceph RGW (HTTPS on loopback)");
  const rgw = await startCephRgw();
  const host = await startDynamicProviderHost({ NODE_EXTRA_CA_CERTS: rgw.caFile });
  try {
    console.log(`  cluster start to radosgw's first answer: ${fmt(rgw.startMs)}`);
    const key = await rgw.createUser("bench");
    const { text } = serializeText();
    const props = (bucket: string) => ({
      bucket,
      endpoint: rgw.endpointHost,
      region: "us-midwest-1",
      ...key,
      adopt: false,
      __provider: text,
    });
    const creates: number[] = [];
    const reads: number[] = [];
    for (let i = 0; i < 10; i++) {
      const create = new providerProto.CreateRequest();
      create.setUrn(`urn:pulumi:bench::mastodon-media::bucket::b${i}`);
      create.setProperties(struct(props(`bench-${i}`)));
      let started = performance.now();
      await host.call("create", create);
      creates.push(performance.now() - started);
      const read = new providerProto.ReadRequest();
      read.setId(`bench-${i}`);
      read.setUrn(`urn:pulumi:bench::mastodon-media::bucket::b${i}`);
      read.setProperties(struct({ ...props(`bench-${i}`), created: true }));
      started = performance.now();
      await host.call("read", read);
      reads.push(performance.now() - started);
    }
    console.log(
      `  create (HeadBucket + CreateBucket), first  ${fmt(creates[0]!)} (loads @aws-sdk/client-s3 in the host)`,
    );
    console.log(`  create, median of the next 9              ${fmt(median(creates.slice(1)))}`);
    console.log(`  read (HeadBucket), median of 10           ${fmt(median(reads))}`);
  } finally {
    host.close();
    await rgw.stop();
  }
}

/** Serializes the custom-domain provider, then the bucket provider, in one process; returns the second's ms. */
function serializeBoth(): number {
  const script = `
    const pulumi = require("@pulumi/pulumi");
    const { e2CustomDomainProvider } = require("./providers/e2-custom-domain.ts");
    const { e2BucketProvider } = require("./providers/e2-bucket.ts");
    (async () => {
      await pulumi.runtime.serializeFunction(() => e2CustomDomainProvider, { allowSecrets: true });
      const started = performance.now();
      await pulumi.runtime.serializeFunction(() => e2BucketProvider, { allowSecrets: true });
      process.stdout.write(String(performance.now() - started));
    })();`;
  return Number(runFresh(script));
}

/** The provider text as the program serializes it (in this process, through tsx). */
function serializeText(): { text: string } {
  const script = `
    const pulumi = require("@pulumi/pulumi");
    const { e2BucketProvider } = require("./providers/e2-bucket.ts");
    pulumi.runtime.serializeFunction(() => e2BucketProvider, { allowSecrets: true }).then((sf) => process.stdout.write(sf.text));`;
  return { text: runFresh(script) };
}

main().catch((err: Error) => {
  console.error(`bench failed: ${err.message}`);
  process.exitCode = 1;
});
