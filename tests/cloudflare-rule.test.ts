// The CloudflareRule provider as Pulumi runs it: serialized by the real program (under mocks), loaded from that
// text by @pulumi/pulumi's dynamic-provider host in a fresh Node process, configured with the stack's
// `cloudflare:apiToken` over gRPC, and talking through the official `cloudflare` SDK to a loopback HTTPS stand-in
// of Cloudflare's rules API (tests/support/cloudflare-api.ts). Each scenario gets its own zone.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as ts from "typescript";
import * as pulumi from "@pulumi/pulumi";
import {
  CloudflareRule,
  CLOUDFLARE_RULE_TYPE,
  NO_TOKEN_MESSAGE,
  canonicalJson,
  makeCloudflareRuleProvider,
  type CloudflareRuleInputs,
} from "../providers/cloudflare-rule";
import { RULESET_PHASES, edgeRules, ruleResourceArgs, type EdgeRuleSwitches } from "../components/edge-rules";
import { legacyMediaRedirectRule } from "../components/legacy-media-redirect";
import {
  startCloudflareStandIn,
  type CloudflareStandIn,
  type StandInRuleset,
} from "./support/cloudflare-api";
import { startDynamicProviderHost, type DynamicProviderHost } from "./support/dynamic-provider-host";
import { HostedResource } from "./support/hosted-resource";
import {
  OFFLINE_INVOKES,
  installRecordingMocks,
  runProgramUnderMocks,
  type MockRunResult,
} from "./support/mock-run";
import { PROJECT_DIR } from "./support/program-run";
import { fullKeys, minimalConfig } from "./support/stack-config";
import { HANG_LIMIT_MS } from "./support/hang-limit";

const TOKEN = `cf-token-${randomBytes(12).toString("hex")}`;
const ALL_ON: EdgeRuleSwitches = { ssl: true, cache: true, headers: true, methods: true };
const HOST = "files.example.social";

let api: CloudflareStandIn;
let program: MockRunResult;
let providerText: string;
let host: DynamicProviderHost;

before(async () => {
  api = await startCloudflareStandIn(TOKEN);
  // The real program, with the token both in the stack config (as a secret) and in the environment.
  const previous = process.env.CLOUDFLARE_API_TOKEN;
  process.env.CLOUDFLARE_API_TOKEN = TOKEN;
  try {
    const keys = fullKeys(minimalConfig());
    program = await runProgramUnderMocks({
      programDir: PROJECT_DIR,
      stack: "test",
      config: { ...keys.config, "cloudflare:apiToken": TOKEN },
      secretKeys: [...keys.secretKeys, "cloudflare:apiToken"],
      typescript: false,
      invokes: OFFLINE_INVOKES,
    });
  } finally {
    if (previous === undefined) delete process.env.CLOUDFLARE_API_TOKEN;
    else process.env.CLOUDFLARE_API_TOKEN = previous;
  }
  providerText = String(
    program.registrations.find((r) => r.type === CLOUDFLARE_RULE_TYPE)?.inputs.__provider,
  );
  // The host gets the stand-in's address and trust, and no token in its environment: only Configure brings it.
  const { CLOUDFLARE_API_TOKEN: _none, ...env } = process.env;
  host = await startDynamicProviderHost({
    ...env,
    CLOUDFLARE_API_TOKEN: "",
    CLOUDFLARE_BASE_URL: api.baseUrl,
    NODE_EXTRA_CA_CERTS: api.caFile,
  });
  const configurer = new HostedResource(host, "urn:pulumi:test::mastodon-media::x::configure");
  await configurer.configure({ "cloudflare:apiToken": TOKEN, "mastodon-media:domain": "example.social" }, [
    "cloudflare:apiToken",
  ]);
});
after(async () => {
  host?.close();
  await api?.close();
});

const newZone = () => randomBytes(16).toString("hex");
const urnOf = (name: string) => `urn:pulumi:test::mastodon-media::${CLOUDFLARE_RULE_TYPE}::${name}`;

/** The provider inputs the component would register for each group, for one stack and media host. */
function ruleInputs(
  zoneId: string,
  stack = "test",
  mediaHost = HOST,
  switches = ALL_ON,
): CloudflareRuleInputs[] {
  return edgeRules(stack, mediaHost, switches).map((r) => ruleResourceArgs(zoneId, r));
}

interface State {
  id: string;
  outs: Record<string, unknown>;
}

/** One resource through the host the way the engine drives `pulumi up`: check, then create or diff → update/replace. */
async function up(inputs: CloudflareRuleInputs, state?: State): Promise<State> {
  const res = new HostedResource(host, urnOf(inputs.ref));
  const checked = await res.check(state?.outs ?? {}, { ...inputs, __provider: providerText });
  assert.deepEqual(checked.failures, []);
  if (!state) return res.create(checked.inputs);
  const diff = await res.diff(state.id, state.outs, checked.inputs);
  if (!diff.changes) return state;
  if (diff.replaces.length > 0) {
    const created = await res.create(checked.inputs);
    await res.delete(state.id, state.outs);
    return created;
  }
  return { id: state.id, outs: await res.update(state.id, state.outs, checked.inputs) };
}
const refresh = async (state: State): Promise<State> => {
  const read = await new HostedResource(host, urnOf(String(state.outs.ref))).read(state.id, state.outs);
  return { id: read.id, outs: read.outs };
};
const destroy = (state: State) =>
  new HostedResource(host, urnOf(String(state.outs.ref))).delete(state.id, state.outs);

/** Writes the stand-in saw since `from`, as "METHOD path". */
const writesSince = (from: number) =>
  api.requests
    .slice(from)
    .filter((r) => r.method !== "GET")
    .map((r) => `${r.method} ${r.path}`);

/** The operator's rules of a zone, by phase, as plain data (IDs, refs, versions, order). */
function othersOf(zoneId: string, ourRefs: string[]): Record<string, unknown> {
  return Object.fromEntries(
    (api.zones.get(zoneId) ?? []).map((rs) => [
      `${rs.kind}/${rs.phase}/${rs.id}`,
      structuredClone(rs.rules.filter((r) => !ourRefs.includes(r.ref))),
    ]),
  );
}

function operatorZone(zoneId: string): StandInRuleset[] {
  return RULESET_PHASES.map((phase) =>
    api.addRuleset(zoneId, {
      phase,
      name: "default",
      rules: [
        {
          ref: "operator_first",
          expression: '(http.host eq "example.social")',
          action: actionOf(phase),
          description: "theirs 1",
        },
        {
          expression: '(http.host eq "www.example.social")',
          action: actionOf(phase),
          description: "theirs 2",
        },
      ],
    }),
  );
}
function actionOf(phase: string): string {
  return {
    http_config_settings: "set_config",
    http_request_cache_settings: "set_cache_settings",
    http_response_headers_transform: "rewrite",
    http_request_firewall_custom: "block",
  }[phase]!;
}

describe("the serialized provider", () => {
  it("is what the program registered, and carries neither the token nor a relative import", () => {
    assert.ok(providerText.length > 100, "no serialized provider found among the registrations");
    assert.ok(!providerText.includes(TOKEN), "the token is in the serialized provider");
    const required = [...providerText.matchAll(/require\(\s*["']([^"']+)["']\s*\)/g)].map((m) => m[1]!);
    assert.ok(required.includes("cloudflare"), `requires: ${required.join(", ")}`);
    for (const name of required)
      assert.match(name, /^(node:.+|cloudflare)$/, `serialized code requires ${name}`);
  });

  it("the token appears nowhere the program registers, in plain text or as a secret, nor in its outputs", () => {
    const everything = JSON.stringify({
      registrations: program.registrations.map((r) => ({ ...r, inputs: r.inputs, wireInputs: r.wireInputs })),
      outputs: program.outputs,
      wireOutputs: program.wireOutputs,
    });
    assert.ok(program.registrations.some((r) => r.type === CLOUDFLARE_RULE_TYPE));
    assert.ok(!everything.includes(TOKEN), "the token is in what the program registered");
    // Control: the same search does find a secret the program does register.
    assert.ok(everything.includes("e2-secret-access-key-value-0001"));
  });

  it("registers no cloudflare Ruleset and no rulesets lookup", () => {
    assert.equal(
      program.registrations.filter((r) => r.type === "cloudflare:index/ruleset:Ruleset").length,
      0,
    );
    assert.equal(program.invokes.filter((i) => i.token.includes("etRulesets")).length, 0);
    assert.equal(program.registrations.filter((r) => r.type === CLOUDFLARE_RULE_TYPE).length, 4);
  });
});

/**
 * `pulumi up` loads the program through ts-node, i.e. TypeScript's own CommonJS emit (tsx, used here, emits
 * differently). So the provider is also serialized from that emit, by plain `node` with Pulumi's serializer.
 */
function serializeFromTypeScriptEmit(): string {
  const dir = mkdtempSync(join(tmpdir(), "cloudflare-rule-"));
  try {
    const source = readFileSync(join(__dirname, "..", "providers", "cloudflare-rule.ts"), "utf8");
    const { outputText } = ts.transpileModule(source, {
      fileName: "cloudflare-rule.ts",
      compilerOptions: {
        module: ts.ModuleKind.CommonJS,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    writeFileSync(join(dir, "cloudflare-rule.js"), outputText);
    const serialize = String.raw`
      const pulumi = require("@pulumi/pulumi");
      const { cloudflareRuleProvider } = require(process.argv[1]);
      pulumi.runtime.serializeFunction(() => cloudflareRuleProvider, { allowSecrets: true })
        .then((sf) => process.stdout.write(sf.text));`;
    const { NODE_OPTIONS: _dropped, ...env } = process.env;
    const run = spawnSync(
      process.execPath,
      ["--no-experimental-strip-types", "-e", serialize, join(dir, "cloudflare-rule.js")],
      {
        env: { ...env, NODE_PATH: join(__dirname, "..", "node_modules") },
        encoding: "utf8",
        timeout: HANG_LIMIT_MS,
      },
    );
    assert.equal(run.status, 0, run.stderr);
    return run.stdout;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("the provider compiled the way `pulumi up` compiles it", () => {
  it("serializes from TypeScript's CommonJS emit into a provider that runs in the host", async () => {
    const text = serializeFromTypeScriptEmit();
    assert.ok(!text.includes(TOKEN));
    const zone = newZone();
    const [inputs] = ruleInputs(zone, "test", HOST, {
      ssl: false,
      cache: false,
      headers: true,
      methods: false,
    });
    const res = new HostedResource(host, urnOf(`${inputs!.ref}-compiled`));
    const checked = await res.check({}, { ...inputs, __provider: text });
    const created = await res.create(checked.inputs);
    assert.equal(created.outs.__provider, text);
    assert.deepEqual(
      api.entryPoint(zone, inputs!.phase)!.rules.map((r) => r.ref),
      [inputs!.ref],
    );
    await res.delete(created.id, created.outs);
    assert.deepEqual(api.entryPoint(zone, inputs!.phase)!.rules, []);
  });
});

describe("in an empty zone", () => {
  it("creates each phase's entry point holding only our rule (no token in the state), then a no-op up makes no API call", async () => {
    const zone = newZone();
    const inputs = ruleInputs(zone);
    const start = api.requests.length;
    const states = [];
    for (const i of inputs) states.push(await up(i));
    assert.deepEqual(
      writesSince(start),
      inputs.map(() => `POST /client/v4/zones/${zone}/rulesets`),
    );
    for (const [n, i] of inputs.entries()) {
      const ep = api.entryPoint(zone, i.phase)!;
      assert.equal(ep.kind, "zone");
      assert.deepEqual(
        ep.rules.map((r) => r.ref),
        [i.ref],
      );
      assert.equal(states[n]!.outs.ruleId, ep.rules[0]!.id);
      assert.equal(states[n]!.outs.rulesetId, ep.id);
      assert.equal(ep.rules[0]!.expression, i.expression);
      assert.equal(canonicalJson(ep.rules[0]!.action_parameters), canonicalJson(i.actionParameters));
    }
    assert.ok(
      !JSON.stringify(states).includes(TOKEN),
      "the token is in what the host returned for the state",
    );
    const noop = api.requests.length;
    for (const [n, i] of inputs.entries()) assert.equal(await up(i, states[n]), states[n]);
    assert.equal(api.requests.length - noop, 0, "a no-op up talked to Cloudflare");
  });
});

describe("in a zone with the operator's rules in every phase", () => {
  it("appends ours after theirs, patches and deletes only ours, and destroy leaves theirs exactly as they were", async () => {
    const zone = newZone();
    operatorZone(zone);
    const inputs = ruleInputs(zone);
    const refs = inputs.map((i) => i.ref);
    const before = othersOf(zone, refs);
    const start = api.requests.length;
    const states = [];
    for (const i of inputs) states.push(await up(i));
    for (const i of inputs) {
      const ep = api.entryPoint(zone, i.phase)!;
      assert.deepEqual(
        ep.rules.map((r) => r.description),
        ["theirs 1", "theirs 2", i.description],
        i.phase,
      );
    }
    assert.equal(api.zones.get(zone)!.length, 4, "no second entry point");
    assert.ok(
      writesSince(start).every((w) => /\/rulesets\/[0-9a-f]{32}\/rules$/.test(w) && w.startsWith("POST")),
    );
    assert.deepEqual(othersOf(zone, refs), before);

    // An edit of ours (a new description) is a PATCH of our rule's ID only.
    const edited = { ...inputs[0]!, description: `${inputs[0]!.description} (edited)` };
    const mark = api.requests.length;
    states[0] = await up(edited, states[0]);
    const ourId = api.entryPoint(zone, edited.phase)!.rules.find((r) => r.ref === edited.ref)!.id;
    assert.deepEqual(writesSince(mark), [
      `PATCH /client/v4/zones/${zone}/rulesets/${api.entryPoint(zone, edited.phase)!.id}/rules/${ourId}`,
    ]);
    assert.deepEqual(
      api.entryPoint(zone, edited.phase)!.rules.map((r) => r.description),
      ["theirs 1", "theirs 2", edited.description],
    );
    assert.deepEqual(othersOf(zone, refs), before);

    for (const s of states) await destroy(s);
    for (const i of inputs) {
      const ep = api.entryPoint(zone, i.phase);
      assert.ok(ep, "the entry point stays");
      assert.deepEqual(
        ep.rules.map((r) => r.description),
        ["theirs 1", "theirs 2"],
      );
    }
    assert.deepEqual(othersOf(zone, refs), before);
  });
});

describe("the legacy media redirect rule", () => {
  it("joins the zone's redirect entry point after the operator's redirect, or creates it, and destroy leaves theirs", async () => {
    const inputs = ruleResourceArgs(newZone(), legacyMediaRedirectRule("test", "example.social", HOST));
    const theirs = {
      ref: "operator_www",
      expression: '(http.host eq "www.example.social")',
      action: "redirect",
      action_parameters: {
        from_value: { target_url: { value: "https://example.social/" }, status_code: 301 },
      },
      description: "theirs",
    };
    api.addRuleset(inputs.zoneId, { phase: "http_request_dynamic_redirect", rules: [theirs] });
    const before = othersOf(inputs.zoneId, [inputs.ref]);
    const state = await up(inputs);
    const ep = api.entryPoint(inputs.zoneId, "http_request_dynamic_redirect")!;
    assert.deepEqual(
      ep.rules.map((r) => [r.ref, r.action]),
      [
        ["operator_www", "redirect"],
        [inputs.ref, "redirect"],
      ],
    );
    assert.deepEqual(ep.rules[1]!.action_parameters, inputs.actionParameters);
    assert.equal(api.zones.get(inputs.zoneId)!.length, 1, "no second entry point");
    await destroy(state);
    assert.deepEqual(othersOf(inputs.zoneId, [inputs.ref]), before);

    const empty = ruleResourceArgs(newZone(), legacyMediaRedirectRule("test", "example.social", HOST));
    await up(empty);
    const created = api.entryPoint(empty.zoneId, "http_request_dynamic_redirect")!;
    assert.deepEqual(
      created.rules.map((r) => r.ref),
      [empty.ref],
    );
  });
});

describe('with the dashboard\'s empty "default" entry points', () => {
  it("joins each existing entry point instead of creating a second one", async () => {
    const zone = newZone();
    const defaults = RULESET_PHASES.map((phase) => api.addRuleset(zone, { phase, name: "default" }));
    for (const i of ruleInputs(zone)) await up(i);
    assert.equal(api.zones.get(zone)!.length, 4);
    for (const d of defaults) {
      assert.equal(api.entryPoint(zone, d.phase)!.id, d.id);
      assert.equal(d.rules.length, 1);
      assert.equal(d.name, "default");
    }
  });
});

describe("two stacks in one zone", () => {
  it("keep separate rules by ref, and destroying one stack's leaves the other's", async () => {
    const zone = newZone();
    const prod = ruleInputs(zone, "prod", "files.example.social");
    const staging = ruleInputs(zone, "staging", "staging-files.example.social");
    const prodStates = [];
    for (const i of prod) prodStates.push(await up(i));
    for (const i of staging) await up(i);
    for (const phase of RULESET_PHASES) {
      const refs = api.entryPoint(zone, phase)!.rules.map((r) => r.ref);
      assert.equal(refs.length, 2, phase);
      assert.notEqual(refs[0], refs[1]);
    }
    for (const s of prodStates) await destroy(s);
    for (const [n, phase] of RULESET_PHASES.entries()) {
      assert.deepEqual(
        api.entryPoint(zone, phase)!.rules.map((r) => r.ref),
        [staging[n]!.ref],
      );
    }
  });
});

describe("drift made in the dashboard", () => {
  it("a deleted rule shows on refresh and the next up appends it again, leaving the operator's rules alone", async () => {
    const zone = newZone();
    operatorZone(zone);
    const [inputs] = ruleInputs(zone, "test", HOST, {
      ssl: false,
      cache: false,
      headers: false,
      methods: true,
    });
    let state = await up(inputs!);
    const ep = api.entryPoint(zone, inputs!.phase)!;
    const before = othersOf(zone, [inputs!.ref]);
    ep.rules = ep.rules.filter((r) => r.ref !== inputs!.ref); // deleted in the dashboard

    state = await refresh(state);
    assert.equal(state.outs.ruleId, "");
    const res = new HostedResource(host, urnOf(inputs!.ref));
    const checked = await res.check(state.outs, { ...inputs, __provider: providerText });
    assert.equal((await res.diff(state.id, state.outs, checked.inputs)).changes, true);
    state = await up(inputs!, state);
    assert.deepEqual(
      api.entryPoint(zone, inputs!.phase)!.rules.map((r) => r.description),
      ["theirs 1", "theirs 2", inputs!.description],
    );
    assert.notEqual(state.outs.ruleId, "");
    assert.deepEqual(othersOf(zone, [inputs!.ref]), before);
  });

  it("an edited rule shows on refresh and the next up patches it back", async () => {
    const zone = newZone();
    const [inputs] = ruleInputs(zone, "test", HOST, {
      ssl: true,
      cache: false,
      headers: false,
      methods: false,
    });
    let state = await up(inputs!);
    const ours = api.entryPoint(zone, inputs!.phase)!.rules[0]!;
    ours.action_parameters = { ssl: "flexible" };
    state = await refresh(state);
    assert.deepEqual(state.outs.actionParameters, { ssl: "flexible" });
    state = await up(inputs!, state);
    assert.deepEqual(state.outs.actionParameters, { ssl: "strict" });
    assert.deepEqual(api.entryPoint(zone, inputs!.phase)!.rules[0]!.action_parameters, { ssl: "strict" });
    assert.equal(
      api.entryPoint(zone, inputs!.phase)!.rules[0]!.id,
      ours.id,
      "patched in place, same rule ID",
    );
  });
});

describe("a half-done earlier run", () => {
  it("is adopted by ref: no duplicate, and nothing written when the rule is already right", async () => {
    const zone = newZone();
    const [inputs] = ruleInputs(zone, "test", HOST, {
      ssl: false,
      cache: true,
      headers: false,
      methods: false,
    });
    await up(inputs!); // the rule got created, but the state never recorded it
    const mark = api.requests.length;
    const again = await up(inputs!);
    assert.deepEqual(writesSince(mark), []);
    assert.equal(api.entryPoint(zone, inputs!.phase)!.rules.length, 1);
    assert.equal(again.outs.ruleId, api.entryPoint(zone, inputs!.phase)!.rules[0]!.id);
  });
});

describe("an entry point created by someone else between our look and our create", () => {
  it("is joined after Cloudflare refuses a second one with 20217, keeping the other rule", async () => {
    const zone = newZone();
    const [inputs] = ruleInputs(zone, "test", HOST, {
      ssl: true,
      cache: false,
      headers: false,
      methods: false,
    });
    api.beforeAnswer = (method, path) => {
      if (method !== "POST" || path !== `/client/v4/zones/${zone}/rulesets`) return;
      api.beforeAnswer = undefined;
      api.addRuleset(zone, {
        phase: inputs!.phase,
        rules: [{ expression: "true", action: "set_config", description: "theirs, just made" }],
      });
    };
    try {
      await up(inputs!);
    } finally {
      api.beforeAnswer = undefined;
    }
    assert.equal(api.zones.get(zone)!.length, 1);
    assert.deepEqual(
      api.entryPoint(zone, inputs!.phase)!.rules.map((r) => r.description),
      ["theirs, just made", inputs!.description],
    );
  });
});

describe("Cloudflare's one-entry-point rule, as the stand-in models it, through the SDK", () => {
  it("a second zone entry point for a phase is refused with error 20217", async () => {
    const zone = newZone();
    api.addRuleset(zone, { phase: "http_config_settings" });
    const { Cloudflare } = await import("cloudflare");
    const client = new Cloudflare({
      apiToken: TOKEN,
      baseURL: api.baseUrl,
      maxRetries: 0,
      fetch: insecureFetch(),
    });
    await assert.rejects(
      client.rulesets.create({
        zone_id: zone,
        kind: "zone",
        phase: "http_config_settings",
        name: "x",
        rules: [],
      }),
      (e: { status?: number; errors?: { code: number }[] }) =>
        e.status === 400 && e.errors?.[0]?.code === 20217,
    );
  });
});

describe("where the token comes from", () => {
  it("Configure hands the provider the stack's cloudflare:apiToken (the host above has none in its environment)", () => {
    const sent = api.requests.map((r) => r.authorization);
    assert.ok(sent.length > 0);
    assert.deepEqual([...new Set(sent)], [`Bearer ${TOKEN}`]);
  });

  it("without cloudflare:apiToken in the stack config, CLOUDFLARE_API_TOKEN of the host's environment is used", async () => {
    const envHost = await startDynamicProviderHost({
      CLOUDFLARE_API_TOKEN: TOKEN,
      CLOUDFLARE_BASE_URL: api.baseUrl,
      NODE_EXTRA_CA_CERTS: api.caFile,
    });
    try {
      const zone = newZone();
      const [inputs] = ruleInputs(zone, "test", HOST, {
        ssl: true,
        cache: false,
        headers: false,
        methods: false,
      });
      const res = new HostedResource(envHost, urnOf(inputs!.ref));
      await res.configure({ "mastodon-media:domain": "example.social" });
      const checked = await res.check({}, { ...inputs, __provider: providerText });
      await res.create(checked.inputs);
      assert.equal(api.entryPoint(zone, inputs!.phase)!.rules.length, 1);
    } finally {
      envHost.close();
    }
  });
});

describe("without a token", () => {
  it("fails before any request with a message naming both ways to set it", async () => {
    const previous = process.env.CLOUDFLARE_API_TOKEN;
    delete process.env.CLOUDFLARE_API_TOKEN;
    try {
      const provider = makeCloudflareRuleProvider({ requestTimeoutMs: 1000, maxRetries: 0 });
      const mark = api.requests.length;
      await assert.rejects(provider.create(ruleInputs(newZone())[0]!), { message: NO_TOKEN_MESSAGE });
      assert.equal(api.requests.length, mark);
      assert.match(NO_TOKEN_MESSAGE, /cloudflare:apiToken/);
      assert.match(NO_TOKEN_MESSAGE, /CLOUDFLARE_API_TOKEN/);
    } finally {
      if (previous !== undefined) process.env.CLOUDFLARE_API_TOKEN = previous;
    }
  });
});

describe("CloudflareRule arguments", () => {
  it("known bad arguments are refused at construction, naming each property, before anything is registered", async () => {
    const record = await installRecordingMocks({ stack: "test", config: {}, secretKeys: [] });
    assert.throws(
      () =>
        new CloudflareRule("bad", {
          zoneId: "not-a-zone",
          phase: "http_request_firewall_custom",
          ref: "has space",
          description: "d",
          expression: "",
          action: "block",
        }),
      (e: unknown) =>
        pulumi.InputPropertiesError.isInstance(e) &&
        ["zoneId", "ref", "expression"].every((p) => e.errors.some((x) => x.propertyPath === p)) &&
        e.message.includes('"not-a-zone"'),
    );
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(record.registrations.length, 0);
  });
});

describe("check", () => {
  it("names each bad input and does not judge unknown values", async () => {
    const provider = makeCloudflareRuleProvider({ requestTimeoutMs: 1000, maxRetries: 0 });
    const good = ruleInputs(newZone())[0]!;
    const bad = await provider.check!({} as never, { ...good, zoneId: "nope", ref: "has space", action: "" });
    assert.deepEqual(
      bad.failures!.map((f) => f.property),
      ["zoneId", "ref", "action"],
    );
    const unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
    assert.deepEqual((await provider.check!({} as never, { ...good, zoneId: unknown })).failures, []);
  });

  it("diff ignores __provider and needs no API call; a new ref or phase is a replacement", async () => {
    const provider = makeCloudflareRuleProvider({ requestTimeoutMs: 1000, maxRetries: 0 });
    const i = ruleInputs(newZone())[0]!;
    const olds = { ...i, rulesetId: "r".repeat(32), ruleId: "x".repeat(32), __provider: "old text" };
    const mark = api.requests.length;
    assert.equal((await provider.diff!("id", olds, { ...i, __provider: "new text" })).changes, false);
    assert.deepEqual((await provider.diff!("id", olds, { ...i, ref: "other_ref" })).replaces, ["ref"]);
    const changed = await provider.diff!("id", olds, { ...i, expression: `${i.expression} and true` });
    assert.deepEqual([changed.changes, changed.replaces], [true, []]);
    assert.equal(api.requests.length, mark);
  });
});

/** A fetch that trusts the stand-in's certificate, for SDK calls made from this process. */
function insecureFetch(): typeof fetch {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const https = require("node:https") as typeof import("node:https");
  return (async (url: string | URL, init?: RequestInit) =>
    new Promise<Response>((resolve, reject) => {
      const req = https.request(
        String(url),
        {
          method: init?.method ?? "GET",
          headers: Object.fromEntries(new Headers(init?.headers)),
          ca: api.caPem,
        },
        (res) => {
          let body = "";
          res.on("data", (c: Buffer) => (body += c.toString()));
          res.on("end", () =>
            resolve(
              new Response(body, { status: res.statusCode, headers: res.headers as Record<string, string> }),
            ),
          );
        },
      );
      req.on("error", reject);
      if (init?.body) req.write(init.body);
      req.end();
    })) as unknown as typeof fetch;
}
