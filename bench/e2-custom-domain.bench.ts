// Benchmark of the E2CustomDomain provider on loopback: `node --import tsx bench/e2-custom-domain.bench.ts
// [--runs N]`. Prints figures; asserts nothing about time.
//
// 1. Steady-state check of a registered domain: the provider's `diff` for unchanged inputs, which is one TLS
//    handshake with SNI plus a fingerprint comparison, timed over N runs (median, p95) for an ECDSA P-256
//    and an RSA-2048 origin certificate (Cloudflare's origin-ecc and origin-rsa).
// 2. What a no-op `pulumi up` costs: the provider driven the way the engine drives a registered resource
//    whose inputs did not change (check, then diff; an update only if diff reports changes), counting the
//    handshakes the loopback "e2" saw, the application bytes it received, and the provider writes
//    (create/update/delete calls) the simulated engine made.
// The servers are real TLS servers on 127.0.0.1 (see tests/support/tls-servers.ts); real e2 adds network
// round trips, so absolute times here are a floor, not a forecast.
import { performance } from "node:perf_hooks";
import {
  e2CustomDomainProvider,
  type E2CustomDomainInputs,
  type E2CustomDomainOutputs,
} from "../providers/e2-custom-domain";
import { makeCertificate, startSniServer, type TestCertificate } from "../tests/support/tls-servers";

type WithProvider<T> = T & { __provider?: string };
const SERIALIZED = "/* stands in for the serialized provider text */";
const WARM_UP_RUNS = 10;

function runsFromArgs(): number {
  const i = process.argv.indexOf("--runs");
  const n = i >= 0 ? Number(process.argv[i + 1]) : 200;
  if (!Number.isInteger(n) || n < 1) throw new Error("--runs needs a positive whole number");
  return n;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

function inputsFor(port: number, cert: TestCertificate): WithProvider<E2CustomDomainInputs> {
  return {
    endpoint: `127.0.0.1:${port}`,
    hostname: "files.example.test",
    cnameDomain: "*.example.test",
    certificatePem: cert.certificatePem,
    privateKeyPem: cert.privateKeyPem,
    waitSeconds: 0,
    __provider: SERIALIZED,
  };
}

async function steadyState(keyType: "ec" | "rsa", runs: number): Promise<string> {
  const endpointCert = makeCertificate(["s3.region.e2.test"], keyType);
  const origin = makeCertificate(["example.test", "*.example.test"], keyType);
  const server = await startSniServer(endpointCert);
  server.register("*.example.test", origin);
  try {
    const inputs = inputsFor(server.port, origin);
    const created = await e2CustomDomainProvider.create(inputs);
    const olds: WithProvider<E2CustomDomainOutputs> = { ...created.outs!, __provider: SERIALIZED };
    const times: number[] = [];
    let changed = 0;
    for (let i = 0; i < WARM_UP_RUNS + runs; i++) {
      const started = performance.now();
      const diff = await e2CustomDomainProvider.diff!(created.id, olds, inputs);
      const elapsed = performance.now() - started;
      if (diff.changes) changed += 1;
      if (i >= WARM_UP_RUNS) times.push(elapsed);
    }
    times.sort((a, b) => a - b);
    const label = keyType === "ec" ? "ECDSA P-256" : "RSA-2048   ";
    return (
      `  ${label}  median ${percentile(times, 50).toFixed(2)} ms   p95 ${percentile(times, 95).toFixed(2)} ms` +
      `   min ${times[0]!.toFixed(2)} ms   max ${times.at(-1)!.toFixed(2)} ms   (${runs} runs after ${WARM_UP_RUNS} ` +
      `warm-up; diffs reporting a change: ${changed})`
    );
  } finally {
    await server.close();
  }
}

async function noOpUp(): Promise<string[]> {
  const endpointCert = makeCertificate(["s3.region.e2.test"]);
  const origin = makeCertificate(["example.test", "*.example.test"]);
  const setup = await startSniServer(endpointCert);
  setup.register("*.example.test", origin);
  const created = await e2CustomDomainProvider.create(inputsFor(setup.port, origin));
  await setup.close();

  // A fresh server for the measured pass, so the create above is not counted.
  const server = await startSniServer(endpointCert);
  server.register("*.example.test", origin);
  try {
    const news = inputsFor(server.port, origin);
    // State as the engine holds it after the last successful run: recorded inputs and outputs.
    const stateInputs = news;
    const stateOutputs: WithProvider<E2CustomDomainOutputs> = {
      ...created.outs!,
      endpoint: news.endpoint,
      __provider: SERIALIZED,
    };
    let writes = 0;
    const checked = await e2CustomDomainProvider.check!(stateInputs, news);
    const diff = await e2CustomDomainProvider.diff!(created.id, stateOutputs, checked.inputs!);
    if (diff.changes) {
      writes += 1;
      await e2CustomDomainProvider.update!(created.id, stateOutputs, checked.inputs!);
    }
    await server.waitForHandshakes(1);
    await new Promise((resolve) => setTimeout(resolve, 100)); // let any late handshake or byte arrive
    return [
      `  simulated: one engine pass over the registered, unchanged resource: check(olds, news), then diff(id,`,
      `  state outputs, checked inputs); update only if diff reports changes (it did not: changes=${diff.changes}).`,
      `  TLS handshakes the endpoint saw:        ${server.stats.handshakes}`,
      `  application bytes sent to the endpoint: ${server.stats.applicationBytesReceived}`,
      `  provider writes (create/update/delete): ${writes}`,
      `  Not simulated: the engine's own checkpoint write. An interactive \`pulumi up\` runs a preview pass`,
      `  and then the update pass, each calling check and diff, so expect ${server.stats.handshakes * 2} handshakes there,`,
      `  ${server.stats.handshakes} with --skip-preview (from the CLI's documented behaviour; not measurable here).`,
    ];
  } finally {
    await server.close();
  }
}

async function main() {
  const runs = runsFromArgs();
  console.log("E2CustomDomain on loopback (real TLS servers on 127.0.0.1 choosing the certificate by SNI)");
  console.log("");
  console.log("Steady-state check of a registered domain (provider.diff, unchanged inputs = one handshake):");
  console.log(await steadyState("ec", runs));
  console.log(await steadyState("rsa", runs));
  console.log("");
  console.log("No-op `pulumi up`, per E2CustomDomain resource:");
  for (const line of await noOpUp()) console.log(line);
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
