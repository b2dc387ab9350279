// @pulumi/pulumi's own dynamic-provider host, started in a fresh Node process the way the engine starts it
// (`<host> <engine address>`; it prints its port), and spoken to over gRPC the way the engine speaks to it.
// Serialized providers sent to it are loaded from text, with none of the project's relative imports.
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/* eslint-disable @typescript-eslint/no-explicit-any -- the generated gRPC/protobuf modules are untyped here */
export const pulumiRequire = createRequire(require.resolve("@pulumi/pulumi"));
const grpc = pulumiRequire("@grpc/grpc-js");
export const providerProto = pulumiRequire("./proto/provider_pb");
const providerGrpc = pulumiRequire("./proto/provider_grpc_pb");
export const { Struct } = pulumiRequire("google-protobuf/google/protobuf/struct_pb");

export type HostMethod = "configure" | "check" | "diff" | "create" | "read" | "update" | "delete";

export interface DynamicProviderHost {
  call(method: HostMethod, request: any): Promise<any>;
  stderr(): string;
  close(): void;
}

/** Starts the host with `env` added to this process's environment (minus the test runner's loader). */
export function startDynamicProviderHost(env: NodeJS.ProcessEnv = {}): Promise<DynamicProviderHost> {
  const hostPath = join(
    dirname(pulumiRequire.resolve("./package.json")),
    "cmd",
    "dynamic-provider",
    "index.js",
  );
  const { NODE_OPTIONS: _dropped, ...inherited } = process.env;
  // The engine address is required by the host's command line but only used by features these providers lack.
  const child = spawn(process.execPath, ["--no-experimental-strip-types", hostPath, "127.0.0.1:9"], {
    env: { ...inherited, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`dynamic-provider host did not start: ${stderr}`));
    }, 30_000);
    child.on("error", reject);
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
      const port = /^(\d+)\s*$/m.exec(stdout)?.[1];
      if (!port) return;
      clearTimeout(timer);
      const client = new providerGrpc.ResourceProviderClient(
        `127.0.0.1:${port}`,
        grpc.credentials.createInsecure(),
      );
      resolve({
        call: (method, request) =>
          new Promise((done, fail) =>
            client[method](request, { deadline: Date.now() + 30_000 }, (err: any, response: any) =>
              err ? fail(err) : done(response),
            ),
          ),
        stderr: () => stderr,
        close: () => {
          client.close();
          child.kill();
        },
      });
    });
  });
}

/** A typed face on the host for one dynamic resource type: plain objects in, plain objects out. */
export class HostedResource {
  constructor(
    private readonly host: DynamicProviderHost,
    private readonly urn: string,
  ) {}

  /** The engine's Configure: stack config keys (`cloudflare:apiToken`) → values; `secret` ones wrapped. */
  async configure(config: Record<string, string>, secretKeys: string[] = []): Promise<void> {
    const args: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(config)) {
      args[k] = secretKeys.includes(k)
        ? { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270", value: v }
        : v;
    }
    const req = new providerProto.ConfigureRequest();
    req.setArgs(Struct.fromJavaScript(args));
    await this.host.call("configure", req);
  }

  async check(olds: object, news: object): Promise<{ inputs: any; failures: any[] }> {
    const req = new providerProto.CheckRequest();
    req.setUrn(this.urn);
    req.setOlds(Struct.fromJavaScript(olds));
    req.setNews(Struct.fromJavaScript(news));
    const res = await this.host.call("check", req);
    return {
      inputs: res.getInputs().toJavaScript(),
      failures: res.getFailuresList().map((f: any) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(id: string, olds: object, news: object): Promise<{ changes: boolean; replaces: string[] }> {
    const req = new providerProto.DiffRequest();
    req.setId(id);
    req.setUrn(this.urn);
    req.setOlds(Struct.fromJavaScript(olds));
    req.setNews(Struct.fromJavaScript(news));
    const res = await this.host.call("diff", req);
    return {
      changes: res.getChanges() === providerProto.DiffResponse.DiffChanges.DIFF_SOME,
      replaces: res.getReplacesList(),
    };
  }

  async create(properties: object): Promise<{ id: string; outs: any }> {
    const req = new providerProto.CreateRequest();
    req.setUrn(this.urn);
    req.setProperties(Struct.fromJavaScript(properties));
    const res = await this.host.call("create", req);
    return { id: res.getId(), outs: res.getProperties().toJavaScript() };
  }

  async read(id: string, properties: object): Promise<{ id: string; outs: any }> {
    const req = new providerProto.ReadRequest();
    req.setId(id);
    req.setUrn(this.urn);
    req.setProperties(Struct.fromJavaScript(properties));
    const res = await this.host.call("read", req);
    return { id: res.getId(), outs: res.getProperties()?.toJavaScript() };
  }

  async update(id: string, olds: object, news: object): Promise<any> {
    const req = new providerProto.UpdateRequest();
    req.setId(id);
    req.setUrn(this.urn);
    req.setOlds(Struct.fromJavaScript(olds));
    req.setNews(Struct.fromJavaScript(news));
    const res = await this.host.call("update", req);
    return res.getProperties().toJavaScript();
  }

  async delete(id: string, properties: object): Promise<void> {
    const req = new providerProto.DeleteRequest();
    req.setId(id);
    req.setUrn(this.urn);
    req.setProperties(Struct.fromJavaScript(properties));
    await this.host.call("delete", req);
  }
}
/* eslint-enable @typescript-eslint/no-explicit-any */
