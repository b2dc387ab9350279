// Runs the real Pulumi program under Pulumi's mocks and records every registration with its options.
// The program is started through @pulumi/pulumi's own `run` entry (the code the language host calls for
// `pulumi up`), so ts-node registration, stack creation and stack outputs happen exactly as in a deploy;
// only the resource monitor is replaced by the SDK's MockMonitor.
import * as fs from "node:fs";
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import { isSecretWrapper } from "../../tools/secret-signature";

export { SECRET_SIG_KEY, SECRET_SIG_VALUE, isSecretWrapper } from "../../tools/secret-signature";

export interface Registration {
  type: string;
  name: string;
  urn: string;
  custom: boolean;
  parentUrn: string;
  providerRef: string;
  /** Inputs with secret wrappers removed (plain values). */
  inputs: Record<string, unknown>;
  /** Inputs exactly as sent to the engine: secrets still wrapped. */
  wireInputs: Record<string, unknown>;
  /** Top-level input names whose value was sent as a secret. */
  secretInputs: string[];
  options: {
    protect: boolean;
    retainOnDelete: boolean;
    importId: string;
    /** URNs this resource waits for: explicit dependsOn and every resource an input came from. */
    dependencies: string[];
    additionalSecretOutputs: string[];
    replaceOnChanges: string[];
    ignoreChanges: string[];
    deleteBeforeReplace: boolean;
    replacementTrigger: unknown;
  };
}

export interface Invoke {
  token: string;
  args: Record<string, unknown>;
}

export interface MockRunResult {
  registrations: Registration[];
  invokes: Invoke[];
  /** Stack outputs, secrets unwrapped. */
  outputs: Record<string, unknown>;
  /** Stack outputs as sent to the engine. */
  wireOutputs: Record<string, unknown>;
  secretOutputs: string[];
  /**
   * What the program logged with `pulumi.log.warn`. Without an engine the SDK prints these to stderr as
   * `warning: [runtime] …`; the harness records them here instead, so that passing tests stay quiet.
   */
  warnings: string[];
}

/** Answers for invokes: token → function of the invoke's args. Unknown tokens throw. */
export type InvokeAnswers = Record<string, (args: Record<string, unknown>) => Record<string, unknown>>;

/** Zone ID the offline zone lookup answers with: obviously fake, and 32 hex characters like a real one. */
export const OFFLINE_ZONE_ID = "0ff11e00000000000000000000000000";

/** Expiry date the mock origin certificate reports. */
export const MOCK_EXPIRES_ON = "2041-11-20 12:00:00 +0000 UTC";

/** Text found only in values these mocks make up (lookups, provider outputs), never in the program's own. */
const MADE_UP_MARKERS = [
  OFFLINE_ZONE_ID,
  MOCK_EXPIRES_ON,
  "mock-key-of-",
  "mock-public-of-",
  "mock-csr-of-",
  "mock-cert-of-",
  "mock-sha256-of-",
];

/** Whether a value (at any depth) holds something the mocks made up, rather than what a real run would show. */
export function isMadeUpByMocks(value: unknown): boolean {
  const text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  return MADE_UP_MARKERS.some((marker) => text.includes(marker));
}

/** The lookups the program makes, answered offline. */
export const OFFLINE_INVOKES: InvokeAnswers = {
  "cloudflare:index/getZone:getZone": (args) => {
    const filter = (args.filter ?? {}) as { name?: string };
    return { ...args, id: OFFLINE_ZONE_ID, zoneId: OFFLINE_ZONE_ID, name: filter.name ?? "unknown" };
  },
};

export interface MockOptions {
  project?: string;
  stack: string;
  /** Full config keys (`mastodon-media:domain`) → string values, as the CLI hands them to the program. */
  config: Record<string, string>;
  /** Full keys of encrypted values. */
  secretKeys: string[];
  invokes?: InvokeAnswers;
  preview?: boolean;
}

export interface MockRunOptions extends MockOptions {
  /** Folder with Pulumi.yaml, package.json and the program's entry point. */
  programDir: string;
  /** Register ts-node the way `pulumi up` does (type-checked) instead of relying on the current loader. */
  typescript: boolean;
}

/** Removes secret wrappers, leaving plain values. */
export function unwrapSecrets(value: unknown): unknown {
  if (isSecretWrapper(value)) return unwrapSecrets(value.value);
  if (Array.isArray(value)) return value.map(unwrapSecrets);
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, unwrapSecrets(v)]));
  }
  return value;
}

/** Replaces every secret, at any depth, with `mask`. */
export function maskSecrets(value: unknown, mask: string): unknown {
  if (isSecretWrapper(value)) return mask;
  if (Array.isArray(value)) return value.map((v) => maskSecrets(v, mask));
  if (typeof value === "object" && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskSecrets(v, mask)]));
  }
  return value;
}

/** Paths (a.b[0]) at which `needle` occurs in a string that is NOT inside a secret wrapper. */
export function plaintextOccurrences(value: unknown, needle: string, at = ""): string[] {
  if (isSecretWrapper(value)) return [];
  if (typeof value === "string") return value.includes(needle) ? [at || "(value)"] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => plaintextOccurrences(v, needle, `${at}[${i}]`));
  if (typeof value === "object" && value !== null) {
    return Object.entries(value).flatMap(([k, v]) => plaintextOccurrences(v, needle, at ? `${at}.${k}` : k));
  }
  return [];
}

/** Fake provider outputs, so that dependants see realistic values; everything else echoes its inputs. */
function fakeState(type: string, name: string, inputs: Record<string, unknown>): Record<string, unknown> {
  switch (type) {
    case "tls:index/privateKey:PrivateKey":
      return {
        ...inputs,
        privateKeyPem: `-----BEGIN PRIVATE KEY-----\nmock-key-of-${name}\n-----END PRIVATE KEY-----\n`,
        publicKeyPem: `-----BEGIN PUBLIC KEY-----\nmock-public-of-${name}\n-----END PUBLIC KEY-----\n`,
      };
    case "tls:index/certRequest:CertRequest":
      return {
        ...inputs,
        certRequestPem: `-----BEGIN CERTIFICATE REQUEST-----\nmock-csr-of-${name}\n-----END CERTIFICATE REQUEST-----\n`,
      };
    case "cloudflare:index/originCaCertificate:OriginCaCertificate":
      return {
        ...inputs,
        certificate: `-----BEGIN CERTIFICATE-----\nmock-cert-of-${name}\n-----END CERTIFICATE-----\n`,
        expiresOn: MOCK_EXPIRES_ON,
      };
    case "pulumi-nodejs:dynamic/mastodon-media/e2:CustomDomain":
      // No TLS probe under mocks: report the registration as the console step not yet done.
      return {
        ...inputs,
        registered: false,
        expectedCertificateSha256: `mock-sha256-of-${name}`,
        servedCertificateSha256: "",
      };
    default:
      return inputs;
  }
}

interface ProtoValue {
  toJavaScript(): unknown;
}
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getParent(): string;
  getProvider(): string;
  getObject(): ProtoValue | undefined;
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getImportid(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): {
    forEach(cb: (deps: { getUrnsList(): string[] }, key: string) => void): void;
  };
  getAdditionalsecretoutputsList(): string[];
  getReplaceonchangesList(): string[];
  getIgnorechangesList(): string[];
  getDeletebeforereplace(): boolean;
  getReplacementTrigger(): ProtoValue | undefined;
}
interface OutputsRequest {
  getUrn(): string;
  getOutputs(): ProtoValue | undefined;
}
type Callback = (err: unknown, res: unknown) => void;
interface MockMonitorLike {
  registerResource(req: RegisterRequest, cb: Callback): Promise<void>;
  registerResourceOutputs(req: OutputsRequest, cb: Callback): void;
}

const RUNTIME_WARNING = "warning: [runtime] ";
let warningsTo: string[] | undefined;

/**
 * Sends the SDK's engine-less warnings (`console.warn("warning: [runtime] …")`, see @pulumi/pulumi/log) to
 * `into` from now until the next call; everything else written with console.warn still goes to stderr.
 */
function recordRuntimeWarnings(into: string[]): void {
  if (warningsTo === undefined) {
    const warn = console.warn.bind(console);
    console.warn = (...args: unknown[]) => {
      const [first] = args;
      if (args.length === 1 && typeof first === "string" && first.startsWith(RUNTIME_WARNING))
        warningsTo!.push(first.slice(RUNTIME_WARNING.length));
      else warn(...args);
    };
  }
  warningsTo = into;
}

/**
 * Replaces the resource monitor with Pulumi's MockMonitor, wrapped so that every registration is recorded
 * with its options. Call it again for a fresh record; each call starts a new mock monitor.
 */
export async function installRecordingMocks(opts: MockOptions): Promise<MockRunResult> {
  const project = opts.project ?? "mastodon-media"; // PROJECT_NAME in components/config/keys.ts
  const registrations: Registration[] = [];
  const invokes: Invoke[] = [];
  const result: MockRunResult = {
    registrations,
    invokes,
    outputs: {},
    wireOutputs: {},
    secretOutputs: [],
    warnings: [],
  };
  recordRuntimeWarnings(result.warnings);

  await pulumi.runtime.setMocks(
    {
      newResource: (args) => {
        const state = fakeState(args.type, args.name, unwrapSecrets(args.inputs) as Record<string, unknown>);
        return { id: args.id || `${args.name}-id`, state };
      },
      call: (args) => {
        const answer = opts.invokes?.[args.token];
        invokes.push({ token: args.token, args: unwrapSecrets(args.inputs) as Record<string, unknown> });
        if (!answer) throw new Error(`Mock not implemented: ${args.token}`);
        return answer(unwrapSecrets(args.inputs) as Record<string, unknown>);
      },
    },
    project,
    opts.stack,
    opts.preview ?? false,
  );
  pulumi.runtime.setAllConfig(opts.config, opts.secretKeys);

  // Wrap the mock monitor to see each full registration request (protect, import, dependencies, ...).
  const monitor = pulumi.runtime.getMonitor() as unknown as MockMonitorLike;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = async (req, cb) => {
    const wire = (req.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>;
    const trigger = req.getReplacementTrigger()?.toJavaScript();
    // Explicit dependsOn plus every resource an input was computed from.
    const dependencies = new Set(req.getDependenciesList());
    req
      .getPropertydependenciesMap()
      .forEach((deps) => deps.getUrnsList().forEach((urn) => dependencies.add(urn)));
    return register(req, (err, res) => {
      if (!err) {
        const urn = (res as { getUrn(): string }).getUrn();
        registrations.push({
          type: req.getType(),
          name: req.getName(),
          urn,
          custom: req.getCustom(),
          parentUrn: req.getParent(),
          providerRef: req.getProvider(),
          inputs: unwrapSecrets(wire) as Record<string, unknown>,
          wireInputs: wire,
          secretInputs: Object.keys(wire).filter((k) => isSecretWrapper(wire[k])),
          options: {
            protect: req.getProtect(),
            retainOnDelete: req.getRetainondelete(),
            importId: req.getImportid(),
            dependencies: [...dependencies],
            additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
            replaceOnChanges: req.getReplaceonchangesList(),
            ignoreChanges: req.getIgnorechangesList(),
            deleteBeforeReplace: req.getDeletebeforereplace(),
            replacementTrigger: trigger === null ? undefined : trigger,
          },
        });
      }
      cb(err, res);
    });
  };
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, cb) => {
    if (req.getUrn().includes("::pulumi:pulumi:Stack::")) {
      const wire = (req.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
      result.wireOutputs = wire;
      result.outputs = unwrapSecrets(wire) as Record<string, unknown>;
      result.secretOutputs = Object.keys(wire).filter((k) => isSecretWrapper(wire[k]));
    }
    registerOutputs(req, cb);
  };

  return result;
}

/** Runs `build` inside a root stack, as a program runs, and waits for every registration to finish. */
export async function runInMockStack(build: () => void | Promise<void>): Promise<void> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runInPulumiStack } = require("@pulumi/pulumi/runtime/stack") as {
    runInPulumiStack(init: () => Promise<unknown>): Promise<unknown>;
  };
  await runInPulumiStack(async () => {
    await build();
  });
  await new Promise((resolve) => setImmediate(resolve));
}

/** The program threw; `record` holds what it had registered until then. */
export class ProgramFailed extends Error {
  constructor(
    readonly failure: unknown,
    readonly record: MockRunResult,
  ) {
    super(failure instanceof Error ? failure.message : String(failure));
    this.name = failure instanceof Error ? failure.name : "ProgramFailed";
  }
}

/**
 * The program entry the CLI hands the language host: a file named by Pulumi.yaml's top-level `main`
 * (pulumi/pulumi: a file `main` becomes the entry point, its directory the working directory), else the
 * "." (the working directory, which is the program directory), where @pulumi/pulumi's run.js then follows
 * package.json's exports or main.
 */
function programEntry(programDir: string): string {
  const dir = path.resolve(programDir);
  const project = path.join(dir, "Pulumi.yaml");
  const main = fs.existsSync(project)
    ? /^main:\s*(\S+)\s*$/m.exec(fs.readFileSync(project, "utf8"))?.[1]
    : undefined;
  return main ? path.resolve(dir, main) : ".";
}

/**
 * Runs the program under mocks in this process and returns what it registered. Each call starts a new
 * mock monitor and evaluates the program's entry module again.
 */
export async function runProgramUnderMocks(opts: MockRunOptions): Promise<MockRunResult> {
  const result = await installRecordingMocks(opts);
  // What the Node language host sets for a TypeScript project.
  if (opts.typescript) process.env.PULUMI_NODEJS_TYPESCRIPT = "true";
  else delete process.env.PULUMI_NODEJS_TYPESCRIPT;
  const cwd = process.cwd();
  process.chdir(opts.programDir);
  // run() installs process-wide handlers for the program's lifetime; remove them again afterwards, so that
  // several runs in one process neither pile them up nor leave them behind.
  const events = ["exit", "uncaughtException", "unhandledRejection"];
  const emitter = process as unknown as NodeJS.EventEmitter;
  const listenersBefore = new Map(events.map((e) => [e, new Set(emitter.listeners(e))]));
  let failure: unknown;
  try {
    // run.js requires its CLI entry (cmd/run/index.js), which parses process.argv, wants a real engine
    // address and exits without one. Pre-seed the module cache with the one constant run.js reads from it.
    const cliEntry = require.resolve("@pulumi/pulumi/cmd/run/index.js");
    require.cache[cliEntry] ??= {
      exports: { nodeJSProcessExitedAfterLoggingUserActionableMessage: 32 },
    } as NodeJS.Module;
    // The entry as the CLI passes it: Pulumi.yaml's `main` when it names a file, else the directory.
    const entry = programEntry(opts.programDir);
    // A program is a module: forget an earlier run's copy so that this run executes it again.
    try {
      delete require.cache[require.resolve(entry === "." ? `${path.resolve(opts.programDir)}/` : entry)];
    } catch {
      // Not resolvable before ts-node is registered (an index.ts without package.json main): never loaded.
    }
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { run } = require("@pulumi/pulumi/cmd/run/run") as {
      run(
        argv: Record<string, unknown>,
        started: () => void,
        logged: (e: unknown) => void,
        reported: (e: unknown) => boolean,
      ): Promise<unknown>;
    };
    await run(
      { _: [entry] },
      () => {},
      (e) => (failure ??= e),
      () => false,
    );
  } catch (err) {
    failure ??= err;
  } finally {
    process.chdir(cwd);
    for (const event of events) {
      for (const listener of emitter.listeners(event)) {
        if (!listenersBefore.get(event)!.has(listener)) emitter.removeListener(event, listener as () => void);
      }
    }
  }
  // Let the last registrations' callbacks land.
  await new Promise((resolve) => setImmediate(resolve));
  if (failure) throw new ProgramFailed(failure, result);
  return result;
}
