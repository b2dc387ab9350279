// CloudflareRule: one rule of ours inside a zone's entry-point ruleset for a phase, beside the operator's rules.
//
// A zone has one entry-point ruleset per phase, and `cloudflare.Ruleset` owns all of its rules, so managing it
// would delete whatever rules the operator has there. This resource owns a single rule instead, through the
// rules API (append, patch, delete one rule), and finds it again by its `ref`:
// - create/update: read the phase's entry point; no entry point → create it holding only our rule; our ref
//   present → patch it if it differs (a half-done earlier run is adopted, never duplicated); else append ours
//   at the end. Other rules are never sent, so they are never changed, reordered or deleted.
// - read (refresh): what Cloudflare has under our ref now; a rule edited or deleted in the dashboard shows as a
//   change and the next `pulumi up` restores it.
// - delete: removes our rule only; the entry point and the operator's rules stay.
// - diff makes no API call: a no-op `pulumi up` neither reads nor writes anything at Cloudflare.
//
// The API token is read at run time, in the dynamic-provider host: `cloudflare:apiToken` from the stack config
// (handed to `configure`), else CLOUDFLARE_API_TOKEN. It is never an input, an output, or captured by the
// serialized provider. The `cloudflare` SDK also honours CLOUDFLARE_BASE_URL (tests point it at a loopback
// stand-in; nothing in the program sets it).
//
// Pulumi serializes `cloudflareRuleProvider` with what it references and runs that text in another process:
// it captures only plain constants; modules are `require`d inside functions; nothing here logs.
/* eslint-disable @typescript-eslint/no-require-imports -- see the note above: requires must stay inside */
import * as pulumi from "@pulumi/pulumi";

export const CLOUDFLARE_RULE_MODULE = "mastodon-media/cloudflare";
export const CLOUDFLARE_RULE_TYPE_NAME = "Rule";
/** The resource's full type token, as it appears in state. */
export const CLOUDFLARE_RULE_TYPE = `pulumi-nodejs:dynamic/${CLOUDFLARE_RULE_MODULE}:${CLOUDFLARE_RULE_TYPE_NAME}`;

/** Time allowed for one API request, and how often the SDK retries one that failed transiently. */
export interface CloudflareRuleTiming {
  requestTimeoutMs: number;
  maxRetries: number;
}
export const DEFAULT_CLOUDFLARE_RULE_TIMING: CloudflareRuleTiming = {
  requestTimeoutMs: 30_000,
  maxRetries: 2,
};

/** Name given to an entry point this resource has to create (the dashboard names its own "default"). */
export const CREATED_ENTRY_POINT_NAME = "default";
/** Cloudflare's error code for a second entry-point ruleset in one phase. */
export const ERROR_ENTRY_POINT_EXISTS = 20217;

/** Arguments of {@link CloudflareRule}. */
export interface CloudflareRuleArgs {
  /** The zone's ID (32 lowercase hex characters). Changing it replaces the rule. */
  zoneId: pulumi.Input<string>;
  /** The entry-point phase, API spelling (e.g. `http_request_firewall_custom`). Changing it replaces the rule. */
  phase: pulumi.Input<string>;
  /** Our identity for the rule inside the entry point; stable across runs. Changing it replaces the rule. */
  ref: pulumi.Input<string>;
  /** Shown in the dashboard. */
  description: pulumi.Input<string>;
  /** Rules-language expression. */
  expression: pulumi.Input<string>;
  /** Rule action, API spelling (`set_config`, `set_cache_settings`, `rewrite`, `block`). */
  action: pulumi.Input<string>;
  /** The action's parameters exactly as the API takes them (snake_case); absent for actions without any. */
  actionParameters?: pulumi.Input<Record<string, unknown>>;
  /** Default true. */
  enabled?: pulumi.Input<boolean>;
}

/** Resolved inputs, as the provider receives them after `check`. */
export interface CloudflareRuleInputs {
  zoneId: string;
  phase: string;
  ref: string;
  description: string;
  expression: string;
  action: string;
  actionParameters?: Record<string, unknown>;
  enabled: boolean;
}

/** Outputs: the rule as Cloudflare had it at the last create, update or read. */
export interface CloudflareRuleOutputs extends CloudflareRuleInputs {
  /** ID of the phase's entry-point ruleset; "" if the zone had none at the last read. */
  rulesetId: string;
  /** Cloudflare's ID of our rule; "" if the last read did not find our ref (deleted in the dashboard). */
  ruleId: string;
}

type WithProvider<T> = T & { __provider?: string };

/** What the rules API returns for a rule (the fields we look at). */
interface ApiRule {
  id?: string;
  ref?: string;
  description?: string;
  expression?: string;
  action?: string;
  action_parameters?: Record<string, unknown>;
  enabled?: boolean;
}
interface ApiRuleset {
  id: string;
  rules?: ApiRule[];
}

/** The engine's placeholder for a value not known yet (preview). */
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** Where `configure` leaves the token in the provider host: a global, so no serialized closure ever holds it. */
const TOKEN_SLOT = "__mastodonMediaCloudflareApiToken";
const REPLACING = ["zoneId", "phase", "ref"] as const;
const UPDATING = ["description", "expression", "action", "actionParameters", "enabled"] as const;
const PHASE = /^[a-z][a-z0-9_]*$/;
const ZONE_ID = /^[0-9a-f]{32}$/;
const REF = /^[A-Za-z0-9_-]{1,64}$/;

export const NO_TOKEN_MESSAGE =
  "No Cloudflare API token: set it with `pulumi config set --secret cloudflare:apiToken` or export " +
  "CLOUDFLARE_API_TOKEN.";

/** Every problem with `news`, for `check`. Unknown values (preview) are not judged. */
export function validateRuleInputs(inputs: object): { property: string; reason: string }[] {
  const news = inputs as Record<string, unknown>;
  const failures: { property: string; reason: string }[] = [];
  const show = (v: unknown) => JSON.stringify(v) ?? String(v);
  const bad = (property: string, reason: string) => failures.push({ property, reason });
  const known = (name: string) => news[name] !== UNKNOWN;
  if (known("zoneId") && !(typeof news.zoneId === "string" && ZONE_ID.test(news.zoneId)))
    bad("zoneId", `zoneId must be 32 lowercase hexadecimal characters, got ${show(news.zoneId)}`);
  if (known("phase") && !(typeof news.phase === "string" && PHASE.test(news.phase)))
    bad(
      "phase",
      `phase must be an API phase name like http_request_firewall_custom, got ${show(news.phase)}`,
    );
  if (known("ref") && !(typeof news.ref === "string" && REF.test(news.ref)))
    bad("ref", `ref must be 1-64 letters, digits, "_" or "-", got ${show(news.ref)}`);
  for (const name of ["description", "expression", "action"]) {
    if (known(name) && !(typeof news[name] === "string" && (news[name] as string).trim() !== ""))
      bad(name, `${name} must be a non-empty string, got ${show(news[name])}`);
  }
  const params = news.actionParameters;
  if (
    params !== undefined &&
    params !== UNKNOWN &&
    (typeof params !== "object" || params === null || Array.isArray(params))
  )
    bad("actionParameters", `actionParameters must be an object, got ${show(params)}`);
  if (news.enabled !== undefined && news.enabled !== UNKNOWN && typeof news.enabled !== "boolean")
    bad("enabled", `enabled must be true or false, got ${show(news.enabled)}`);
  return failures;
}

/** JSON with sorted keys and without undefined members: equal rules give equal text. */
export function canonicalJson(value: unknown): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (typeof v === "object" && v !== null) {
      return Object.fromEntries(
        Object.keys(v)
          .sort()
          .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
          .map((k) => [k, sort((v as Record<string, unknown>)[k])]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value)) ?? "undefined";
}

/**
 * Builds the provider. Tests use shorter time-outs; the program uses {@link cloudflareRuleProvider}. Whatever
 * `timing` holds is stored in plain text with the provider.
 */
export function makeCloudflareRuleProvider(
  timing: CloudflareRuleTiming,
): pulumi.dynamic.ResourceProvider<WithProvider<CloudflareRuleInputs>, WithProvider<CloudflareRuleOutputs>> {
  /** The SDK client, with the token of this moment. Throws (without the token) when there is none. */
  function api() {
    const slot = globalThis as unknown as Record<string, string | undefined>;
    const apiToken = slot[TOKEN_SLOT] || process.env.CLOUDFLARE_API_TOKEN;
    if (!apiToken) throw new Error(NO_TOKEN_MESSAGE);
    const { Cloudflare } = require("cloudflare") as typeof import("cloudflare");
    // Only the token: key/email/service-key variables in the environment must not change how we sign in.
    return new Cloudflare({
      apiToken,
      apiKey: null,
      apiEmail: null,
      userServiceKey: null,
      timeout: timing.requestTimeoutMs,
      maxRetries: timing.maxRetries,
    });
  }

  /** What went wrong, for the operator: the request, Cloudflare's status and error codes. Never the token. */
  function explain(what: string, error: unknown): Error {
    const e = error as { status?: number; errors?: { code?: number; message?: string }[]; message?: string };
    const codes = (e.errors ?? []).map((x) => `${x.code}: ${x.message}`).join("; ");
    return new Error(`Cloudflare rules API, ${what}: ${codes || e.message || String(error)}`);
  }

  function isNotFound(error: unknown): boolean {
    return (error as { status?: number }).status === 404;
  }
  function isSecondEntryPoint(error: unknown): boolean {
    const errors = (error as { errors?: { code?: number }[] }).errors ?? [];
    return errors.some((x) => x.code === ERROR_ENTRY_POINT_EXISTS);
  }

  /** The phase's entry point with its rules, or undefined when the zone has none. */
  async function entryPoint(client: ReturnType<typeof api>, zoneId: string, phase: string) {
    try {
      return (await client.rulesets.phases.get(phase as never, { zone_id: zoneId })) as unknown as ApiRuleset;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw explain(`reading the ${phase} entry point of zone ${zoneId}`, error);
    }
  }

  /** The rule body we send: ours only, never anyone else's. */
  function body(inputs: CloudflareRuleInputs): ApiRule {
    const rule: ApiRule = {
      ref: inputs.ref,
      description: inputs.description,
      expression: inputs.expression,
      action: inputs.action,
      enabled: inputs.enabled,
    };
    if (inputs.actionParameters !== undefined) rule.action_parameters = inputs.actionParameters;
    return rule;
  }

  function sameRule(a: ApiRule, b: ApiRule): boolean {
    const pick = (r: ApiRule) => ({
      description: r.description,
      expression: r.expression,
      action: r.action,
      action_parameters: r.action_parameters,
      enabled: r.enabled,
    });
    return canonicalJson(pick(a)) === canonicalJson(pick(b));
  }

  function outputs(inputs: CloudflareRuleInputs, rulesetId: string, ruleId: string): CloudflareRuleOutputs {
    const outs: CloudflareRuleOutputs = {
      zoneId: inputs.zoneId,
      phase: inputs.phase,
      ref: inputs.ref,
      description: inputs.description,
      expression: inputs.expression,
      action: inputs.action,
      enabled: inputs.enabled,
      rulesetId,
      ruleId,
    };
    if (inputs.actionParameters !== undefined) outs.actionParameters = inputs.actionParameters;
    return outs;
  }

  /** Puts our rule in place as described above; returns the entry point's and the rule's IDs. */
  async function ensure(inputs: CloudflareRuleInputs): Promise<{ rulesetId: string; ruleId: string }> {
    const client = api();
    const { zoneId, phase, ref } = inputs;
    const wanted = body(inputs);
    const found = (ruleset: ApiRuleset) => {
      const rule = (ruleset.rules ?? []).find((r) => r.ref === ref);
      if (!rule?.id)
        throw new Error(`Cloudflare rules API: rule ${ref} missing from the answer for ${phase}`);
      return { rulesetId: ruleset.id, ruleId: rule.id };
    };

    let current = await entryPoint(client, zoneId, phase);
    if (current === undefined) {
      try {
        const created = (await client.rulesets.create({
          zone_id: zoneId,
          kind: "zone",
          phase: phase as never,
          name: CREATED_ENTRY_POINT_NAME,
          description: "Zone entry point (created by mastodon-media for its rule; other rules may join it)",
          rules: [wanted as never],
        })) as unknown as ApiRuleset;
        return found(created);
      } catch (error) {
        // Someone (the dashboard, another stack) created it meanwhile: join it like any existing one.
        if (!isSecondEntryPoint(error))
          throw explain(`creating the ${phase} entry point of zone ${zoneId}`, error);
        current = await entryPoint(client, zoneId, phase);
        if (current === undefined)
          throw explain(`creating the ${phase} entry point of zone ${zoneId}`, error);
      }
    }

    const existing = (current.rules ?? []).find((r) => r.ref === ref);
    if (existing?.id && sameRule(existing, wanted)) return { rulesetId: current.id, ruleId: existing.id };
    try {
      const after = existing?.id
        ? ((await client.rulesets.rules.edit(existing.id, {
            ruleset_id: current.id,
            zone_id: zoneId,
            ...(wanted as object),
          } as never)) as unknown as ApiRuleset)
        : ((await client.rulesets.rules.create(current.id, {
            zone_id: zoneId,
            ...(wanted as object),
          } as never)) as unknown as ApiRuleset);
      return found(after);
    } catch (error) {
      throw explain(`${existing ? "updating" : "adding"} rule ${ref} in ${phase} of zone ${zoneId}`, error);
    }
  }

  return {
    async configure(req) {
      const token = req.config.get("cloudflare:apiToken");
      if (token) (globalThis as unknown as Record<string, string>)[TOKEN_SLOT] = token;
    },

    async check(_olds, news) {
      const failures = validateRuleInputs(news);
      return { inputs: { ...news, enabled: news.enabled ?? true }, failures };
    },

    // Exact comparison of the inputs with what the last step recorded, without any API call. `__provider` is
    // ignored, so re-serialized provider code never causes an update.
    async diff(_id, olds, news) {
      const differs = (name: string) =>
        canonicalJson((olds as unknown as Record<string, unknown>)[name]) !==
        canonicalJson((news as unknown as Record<string, unknown>)[name]);
      const replaces = REPLACING.filter(differs);
      const changed = UPDATING.filter(differs);
      const missing = !olds.ruleId;
      return {
        changes: replaces.length > 0 || changed.length > 0 || missing,
        replaces: [...replaces],
        deleteBeforeReplace: false,
      };
    },

    async create(inputs) {
      const { rulesetId, ruleId } = await ensure(inputs);
      return {
        id: `${inputs.zoneId}/${inputs.phase}/${inputs.ref}`,
        outs: outputs(inputs, rulesetId, ruleId),
      } satisfies pulumi.dynamic.CreateResult<CloudflareRuleOutputs>;
    },

    async update(_id, _olds, news) {
      const { rulesetId, ruleId } = await ensure(news);
      return {
        outs: outputs(news, rulesetId, ruleId),
      } satisfies pulumi.dynamic.UpdateResult<CloudflareRuleOutputs>;
    },

    // Refresh: the rule as Cloudflare has it under our ref. Gone → ruleId "" (the next up puts it back).
    async read(id, props) {
      if (!props) return { id };
      const { __provider: _provider, ...state } = props;
      const current = await entryPoint(api(), state.zoneId, state.phase);
      const rule = (current?.rules ?? []).find((r) => r.ref === state.ref);
      if (!rule?.id) return { id, props: { ...state, rulesetId: current?.id ?? "", ruleId: "" } };
      const seen: CloudflareRuleOutputs = {
        ...state,
        description: rule.description ?? "",
        expression: rule.expression ?? "",
        action: rule.action ?? "",
        enabled: rule.enabled ?? false,
        rulesetId: current!.id,
        ruleId: rule.id,
      };
      delete seen.actionParameters;
      if (rule.action_parameters !== undefined) seen.actionParameters = rule.action_parameters;
      return { id, props: seen } satisfies pulumi.dynamic.ReadResult<CloudflareRuleOutputs>;
    },

    // Our rule only. The entry point stays, even when ours was its last rule: the operator may add to it, and
    // the dashboard keeps emptied entry points too.
    async delete(_id, props) {
      const client = api();
      const current = await entryPoint(client, props.zoneId, props.phase);
      const rule = (current?.rules ?? []).find((r) => r.ref === props.ref);
      if (!current || !rule?.id) return;
      try {
        await client.rulesets.rules.delete(rule.id, { ruleset_id: current.id, zone_id: props.zoneId });
      } catch (error) {
        if (isNotFound(error)) return;
        throw explain(`deleting rule ${props.ref} from ${props.phase} of zone ${props.zoneId}`, error);
      }
    },
  };
}

/** The provider the program uses, with the default time-outs. */
export const cloudflareRuleProvider = makeCloudflareRuleProvider(DEFAULT_CLOUDFLARE_RULE_TIMING);

/** One rule of ours in a zone's entry-point ruleset for a phase; see the file comment. */
export class CloudflareRule extends pulumi.dynamic.Resource {
  declare public readonly zoneId: pulumi.Output<string>;
  declare public readonly phase: pulumi.Output<string>;
  declare public readonly ref: pulumi.Output<string>;
  declare public readonly description: pulumi.Output<string>;
  declare public readonly expression: pulumi.Output<string>;
  declare public readonly action: pulumi.Output<string>;
  declare public readonly actionParameters: pulumi.Output<Record<string, unknown> | undefined>;
  declare public readonly enabled: pulumi.Output<boolean>;
  declare public readonly rulesetId: pulumi.Output<string>;
  declare public readonly ruleId: pulumi.Output<string>;

  constructor(name: string, args: CloudflareRuleArgs, opts?: pulumi.CustomResourceOptions) {
    // Arguments known now are judged now, before anything is registered; Outputs wait for `check`.
    const now = (value: unknown) => (pulumi.Output.isInstance(value) ? UNKNOWN : value);
    const failures = validateRuleInputs(
      Object.fromEntries(Object.entries(args).map(([k, v]) => [k, now(v)])),
    );
    if (failures.length > 0) {
      throw new pulumi.InputPropertiesError({
        message: `${name}: invalid CloudflareRule arguments: ${failures.map((f) => f.reason).join("; ")}`,
        errors: failures.map((f) => ({ propertyPath: f.property, reason: f.reason })),
      });
    }
    super(
      cloudflareRuleProvider,
      name,
      {
        ...args,
        enabled: args.enabled ?? true,
        // Outputs only: listed so the SDK creates them.
        rulesetId: undefined,
        ruleId: undefined,
      },
      opts,
      CLOUDFLARE_RULE_MODULE,
      CLOUDFLARE_RULE_TYPE_NAME,
    );
  }
}
