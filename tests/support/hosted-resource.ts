// One dynamic resource type driven through the dynamic-provider host (dynamic-provider-host.ts) the way the engine
// drives it: plain objects in, plain objects out, one method per gRPC call, including Configure with the stack's
// configuration (secrets wrapped as the engine sends them).
import { createRequire } from "node:module";
import { SECRET_SIG_KEY, SECRET_SIG_VALUE } from "../../tools/secret-signature";
import { providerProto, type DynamicProviderHost, type HostMethod } from "./dynamic-provider-host";

/* eslint-disable @typescript-eslint/no-explicit-any -- the generated gRPC/protobuf modules are untyped here */
const pulumiRequire = createRequire(require.resolve("@pulumi/pulumi"));
const { Struct } = pulumiRequire("google-protobuf/google/protobuf/struct_pb");

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
      args[k] = secretKeys.includes(k) ? { [SECRET_SIG_KEY]: SECRET_SIG_VALUE, value: v } : v;
    }
    const req = new providerProto.ConfigureRequest();
    req.setArgs(Struct.fromJavaScript(args));
    await this.host.call("configure" as HostMethod, req);
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
