// A loopback HTTPS stand-in for the parts of Cloudflare's API v4 the rule provider and the purge tool call,
// reached through the official `cloudflare` SDK (CLOUDFLARE_BASE_URL). No real implementation runs offline, so
// this models Cloudflare's documented behaviour, not our code's expectations:
// - a zone has at most one entry-point ruleset (kind "zone") per phase; creating a second fails with 400 and
//   error 20217 ("exceeded maximum number of zone rulesets for phase");
// - GET …/rulesets/phases/<phase>/entrypoint answers 404 when the phase has none;
// - POST …/rulesets/<id>/rules appends one rule at the end; PATCH and DELETE …/rules/<rule id> change or remove
//   that rule only; each answers with the whole ruleset; rule IDs and refs are kept (a rule without a ref gets
//   its ID as ref), and a ref may occur once per ruleset;
// - PUT …/entrypoint replaces the whole rule list (modelled so that a test sees it if anything used it);
// - every request needs `Authorization: Bearer <token>`; otherwise 403 with error 10000;
// - POST /zones/<id>/purge_cache {files: [...]} purges by URL (at most 30 per request, Free plan limit).
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { makeCertificate } from "./tls-servers";

export interface StandInRule {
  id: string;
  ref: string;
  version: string;
  description?: string;
  expression: string;
  action: string;
  action_parameters?: Record<string, unknown>;
  enabled: boolean;
  last_updated: string;
}

export interface StandInRuleset {
  id: string;
  name: string;
  description: string;
  kind: string;
  phase: string;
  version: string;
  last_updated: string;
  rules: StandInRule[];
}

export interface RecordedRequest {
  method: string;
  path: string;
  body: unknown;
  authorization: string;
}

export interface CloudflareStandIn {
  /** Base URL for the SDK (CLOUDFLARE_BASE_URL). */
  baseUrl: string;
  /** PEM of the server's self-signed certificate (for NODE_EXTRA_CA_CERTS). */
  caPem: string;
  /** Path of a file holding `caPem`. */
  caFile: string;
  /** Every request, in order. */
  requests: RecordedRequest[];
  /** zone ID → its rulesets. */
  zones: Map<string, StandInRuleset[]>;
  /** zone ID → every URL purged. */
  purged: Map<string, string[]>;
  /** Adds a zone ruleset as the dashboard would (its rules get IDs and refs); returns it. */
  addRuleset(
    zoneId: string,
    ruleset: { phase: string; name?: string; kind?: string; rules?: Partial<StandInRule>[] },
  ): StandInRuleset;
  entryPoint(zoneId: string, phase: string): StandInRuleset | undefined;
  /** Called with each authenticated request before it is answered: lets a test act as a concurrent client. */
  beforeAnswer?: (method: string, path: string) => void;
  close(): Promise<void>;
}

const hex32 = () => randomBytes(16).toString("hex");

/** Starts the stand-in on 127.0.0.1; `token` is the only API token it accepts. */
export async function startCloudflareStandIn(token: string): Promise<CloudflareStandIn> {
  const { certificatePem: cert, privateKeyPem: key } = makeCertificate(["127.0.0.1"]);
  const caDir = mkdtempSync(join(tmpdir(), "cf-stand-in-ca-"));
  const caFile = join(caDir, "ca.pem");
  writeFileSync(caFile, cert);
  const zones = new Map<string, StandInRuleset[]>();
  const purged = new Map<string, string[]>();
  const requests: RecordedRequest[] = [];
  let clock = Date.parse("2026-11-01T00:00:00Z");
  const now = () => new Date((clock += 1000)).toISOString();
  const rulesetsOf = (zoneId: string) => {
    if (!zones.has(zoneId)) zones.set(zoneId, []);
    return zones.get(zoneId)!;
  };
  const entryPoint = (zoneId: string, phase: string) =>
    rulesetsOf(zoneId).find((r) => r.kind === "zone" && r.phase === phase);

  const newRule = (input: Partial<StandInRule>): StandInRule => {
    const id = hex32();
    const rule: StandInRule = {
      id,
      ref: input.ref ?? id,
      version: "1",
      expression: input.expression ?? "",
      action: input.action ?? "",
      enabled: input.enabled ?? true,
      last_updated: now(),
    };
    if (input.description !== undefined) rule.description = input.description;
    if (input.action_parameters !== undefined) rule.action_parameters = input.action_parameters;
    return rule;
  };
  const bump = (rs: StandInRuleset) => {
    rs.version = String(Number(rs.version) + 1);
    rs.last_updated = now();
  };

  const addRuleset: CloudflareStandIn["addRuleset"] = (zoneId, spec) => {
    const rs: StandInRuleset = {
      id: hex32(),
      name: spec.name ?? "default",
      description: "",
      kind: spec.kind ?? "zone",
      phase: spec.phase,
      version: "1",
      last_updated: now(),
      rules: (spec.rules ?? []).map(newRule),
    };
    rulesetsOf(zoneId).push(rs);
    return rs;
  };

  type Answer = { status: number; result?: unknown; errors?: { code: number; message: string }[] };
  const fail = (status: number, code: number, message: string): Answer => ({
    status,
    errors: [{ code, message }],
  });
  const ok = (result: unknown): Answer => ({ status: 200, result });
  const badRule = (rules: StandInRule[], rule: Partial<StandInRule>, except?: StandInRule) =>
    rule.ref !== undefined && rules.some((r) => r !== except && r.ref === rule.ref)
      ? fail(400, 20070, `duplicate rule ref '${rule.ref}'`)
      : typeof rule.expression !== "string" || typeof rule.action !== "string"
        ? fail(400, 20021, "a rule needs an expression and an action")
        : undefined;

  function route(method: string, path: string, body: Record<string, unknown>): Answer {
    let m: RegExpExecArray | null;
    if ((m = /^\/client\/v4\/zones\/([0-9a-f]{32})\/rulesets\/phases\/([a-z_]+)\/entrypoint$/.exec(path))) {
      const [, zoneId, phase] = m;
      const rs = entryPoint(zoneId!, phase!);
      if (method === "GET") {
        return rs ? ok(rs) : fail(404, 10003, `could not find entrypoint ruleset in the '${phase}' phase`);
      }
      if (method === "PUT") {
        const target = rs ?? addRuleset(zoneId!, { phase: phase! });
        target.rules = ((body.rules as Partial<StandInRule>[]) ?? []).map(newRule);
        bump(target);
        return ok(target);
      }
    }
    if ((m = /^\/client\/v4\/zones\/([0-9a-f]{32})\/rulesets$/.exec(path))) {
      const [, zoneId] = m;
      if (method === "GET") {
        return ok(rulesetsOf(zoneId!).map(({ rules: _rules, ...rest }) => rest));
      }
      if (method === "POST") {
        const phase = String(body.phase);
        if (body.kind === "zone" && entryPoint(zoneId!, phase)) {
          return fail(400, 20217, `exceeded maximum number of zone rulesets for phase ${phase}`);
        }
        const rules = (body.rules as Partial<StandInRule>[]) ?? [];
        for (const [i, r] of rules.entries()) {
          const problem = badRule(rules.slice(0, i) as StandInRule[], r);
          if (problem) return problem;
        }
        const rs = addRuleset(zoneId!, { phase, name: String(body.name), kind: String(body.kind), rules });
        rs.description = String(body.description ?? "");
        return ok(rs);
      }
    }
    if (
      (m = /^\/client\/v4\/zones\/([0-9a-f]{32})\/rulesets\/([0-9a-f]{32})\/rules(?:\/([0-9a-f]{32}))?$/.exec(
        path,
      ))
    ) {
      const [, zoneId, rulesetId, ruleId] = m;
      const rs = rulesetsOf(zoneId!).find((r) => r.id === rulesetId);
      if (!rs) return fail(404, 10003, "could not find ruleset");
      if (method === "POST" && ruleId === undefined) {
        if (body.position !== undefined) return fail(400, 99999, "position is not modelled by this stand-in");
        const problem = badRule(rs.rules, body as Partial<StandInRule>);
        if (problem) return problem;
        rs.rules.push(newRule(body as Partial<StandInRule>));
        bump(rs);
        return ok(rs);
      }
      const index = rs.rules.findIndex((r) => r.id === ruleId);
      if (ruleId === undefined || index < 0) return fail(404, 10003, "could not find rule");
      if (method === "PATCH") {
        const old = rs.rules[index]!;
        const problem = badRule(rs.rules, body as Partial<StandInRule>, old);
        if (problem) return problem;
        const replaced = newRule({ ...(body as Partial<StandInRule>), ref: (body.ref as string) ?? old.ref });
        replaced.id = old.id;
        replaced.version = String(Number(old.version) + 1);
        rs.rules[index] = replaced;
        bump(rs);
        return ok(rs);
      }
      if (method === "DELETE") {
        rs.rules.splice(index, 1);
        bump(rs);
        return ok(rs);
      }
    }
    if ((m = /^\/client\/v4\/zones\/([0-9a-f]{32})\/purge_cache$/.exec(path)) && method === "POST") {
      const files = body.files;
      if (!Array.isArray(files) || files.length === 0)
        return fail(400, 1012, "files must be a non-empty list");
      if (files.length > 30) return fail(400, 1019, "at most 30 files per request");
      purged.set(m[1]!, [...(purged.get(m[1]!) ?? []), ...files.map(String)]);
      return ok({ id: hex32() });
    }
    return fail(404, 7003, `Could not route to ${path}, perhaps your object identifier is invalid?`);
  }

  const server = https.createServer({ cert, key }, (req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "https://127.0.0.1");
      let body: Record<string, unknown>;
      try {
        body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
      } catch {
        body = {};
      }
      const authorization = String(req.headers.authorization ?? "");
      requests.push({ method: req.method ?? "", path: url.pathname, body, authorization });
      const authorized = authorization === `Bearer ${token}`;
      if (authorized) standIn.beforeAnswer?.(req.method ?? "", url.pathname);
      const answer = authorized
        ? route(req.method ?? "", url.pathname, body)
        : fail(403, 10000, "Authentication error");
      const envelope = {
        success: answer.status < 400,
        errors: answer.errors ?? [],
        messages: [],
        result: answer.status < 400 ? structuredClone(answer.result) : null,
      };
      res.writeHead(answer.status, { "content-type": "application/json" });
      res.end(JSON.stringify(envelope));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const standIn: CloudflareStandIn = {
    baseUrl: `https://127.0.0.1:${port}/client/v4`,
    caPem: cert,
    caFile,
    requests,
    zones,
    purged,
    addRuleset,
    entryPoint,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          rmSync(caDir, { recursive: true, force: true });
          resolve();
        });
      }),
  };
  return standIn;
}
