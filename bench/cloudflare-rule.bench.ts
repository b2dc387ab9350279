// Benchmark of the CloudflareRule provider: `node --import tsx bench/cloudflare-rule.bench.ts [--runs N]`.
// Prints figures; asserts nothing about time.
//
// The provider is serialized as the program serializes it and run in @pulumi/pulumi's dynamic-provider host in
// a fresh process, talking through the `cloudflare` SDK to the loopback stand-in of the rules API
// (tests/support/cloudflare-api.ts), in a zone that already holds two operator rules in each phase. Counted:
// the API requests (and writes) of a first `pulumi up`, of a no-op `pulumi up` (check + diff per rule, as the
// engine drives it), of a `pulumi refresh`, and of the `up` that follows a rule deleted in the dashboard; timed:
// the no-op step per rule. Loopback has no network latency: real Cloudflare adds a round trip per request.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import * as pulumi from "@pulumi/pulumi";
import { RULESET_PHASES, edgeRules, ruleResourceArgs } from "../components/edge-rules";
import { CLOUDFLARE_RULE_TYPE, cloudflareRuleProvider } from "../providers/cloudflare-rule";
import { startCloudflareStandIn } from "../tests/support/cloudflare-api";
import { startDynamicProviderHost } from "../tests/support/dynamic-provider-host";
import { HostedResource } from "../tests/support/hosted-resource";

function runsFromArgs(): number {
  const i = process.argv.indexOf("--runs");
  const n = i >= 0 ? Number(process.argv[i + 1]) : 50;
  if (!Number.isInteger(n) || n < 1) throw new Error("--runs needs a positive whole number");
  return n;
}

async function main() {
  const runs = runsFromArgs();
  const token = `bench-${randomBytes(8).toString("hex")}`;
  const api = await startCloudflareStandIn(token);
  const providerText = (
    await pulumi.runtime.serializeFunction(() => cloudflareRuleProvider, { allowSecrets: true })
  ).text;
  const { CLOUDFLARE_API_TOKEN: _none, ...env } = process.env;
  const host = await startDynamicProviderHost({
    ...env,
    CLOUDFLARE_API_TOKEN: "",
    CLOUDFLARE_BASE_URL: api.baseUrl,
    NODE_EXTRA_CA_CERTS: api.caFile,
  });
  try {
    const zone = randomBytes(16).toString("hex");
    for (const phase of RULESET_PHASES) {
      api.addRuleset(zone, {
        phase,
        rules: [
          { expression: '(http.host eq "example.social")', action: "block", description: "operator 1" },
          { expression: '(http.host eq "www.example.social")', action: "block", description: "operator 2" },
        ],
      });
    }
    const rules = edgeRules("bench", "files.example.social", {
      ssl: true,
      cache: true,
      headers: true,
      methods: true,
    });
    const resources = rules.map((r) => ({
      res: new HostedResource(host, `urn:pulumi:bench::mastodon-media::${CLOUDFLARE_RULE_TYPE}::${r.group}`),
      inputs: { ...ruleResourceArgs(zone, r), __provider: providerText },
    }));
    await resources[0]!.res.configure({ "cloudflare:apiToken": token }, ["cloudflare:apiToken"]);

    const count = async (label: string, step: () => Promise<void>) => {
      const from = api.requests.length;
      const started = performance.now();
      await step();
      const ms = performance.now() - started;
      const seen = api.requests.slice(from);
      const writes = seen.filter((r) => r.method !== "GET").length;
      console.log(
        `  ${label.padEnd(52)} ${String(seen.length).padStart(2)} API requests, ${writes} writes  (${ms.toFixed(0)} ms)`,
      );
    };

    const states: { id: string; outs: Record<string, unknown> }[] = [];
    console.log(`4 rules (ssl, cache, headers, methods); 2 operator rules already in each phase`);
    await count("first pulumi up (check + create)", async () => {
      for (const { res, inputs } of resources) {
        const checked = await res.check({}, inputs);
        states.push(await res.create(checked.inputs));
      }
    });
    const noop = async () => {
      for (const [n, { res, inputs }] of resources.entries()) {
        const checked = await res.check(states[n]!.outs, inputs);
        const diff = await res.diff(states[n]!.id, states[n]!.outs, checked.inputs);
        if (diff.changes) throw new Error(`no-op up found a change in ${inputs.ref}`);
      }
    };
    await count("no-op pulumi up (check + diff)", noop);
    await count("pulumi refresh (read)", async () => {
      for (const [n, { res }] of resources.entries()) {
        const read = await res.read(states[n]!.id, states[n]!.outs);
        states[n] = { id: read.id, outs: read.outs };
      }
    });
    const methods = api.entryPoint(zone, rules[3]!.phase)!;
    methods.rules = methods.rules.filter((r) => r.ref !== rules[3]!.ref);
    await count("refresh + up after our rule was deleted in the dashboard", async () => {
      const { res, inputs } = resources[3]!;
      const read = await res.read(states[3]!.id, states[3]!.outs);
      const checked = await res.check(read.outs, inputs);
      const diff = await res.diff(read.id, read.outs, checked.inputs);
      if (!diff.changes) {
        const present = api.entryPoint(zone, inputs.phase)!.rules.map((r) => r.ref);
        throw new Error(
          `the deletion was not noticed: read gave ruleId ${JSON.stringify(read.outs.ruleId)}, ` +
            `the stand-in holds ${present.join(", ")}`,
        );
      }
      states[3] = { id: read.id, outs: await res.update(read.id, read.outs, checked.inputs) };
    });

    const times: number[] = [];
    for (let i = 0; i < runs; i++) {
      const started = performance.now();
      await noop();
      times.push((performance.now() - started) / resources.length);
    }
    times.sort((a, b) => a - b);
    const p = (q: number) => times[Math.min(times.length - 1, Math.ceil(q * times.length) - 1)]!;
    console.log(
      `  no-op check + diff per rule over gRPC, ${runs} runs: median ${p(0.5).toFixed(2)} ms, p95 ${p(0.95).toFixed(2)} ms`,
    );
  } finally {
    host.close();
    await api.close();
  }
}

main().catch((err: Error) => {
  console.error(`cloudflare-rule bench failed: ${err.message}`);
  process.exitCode = 1;
});
