// @pulumi/pulumi's own dynamic-provider host (cmd/dynamic-provider) in a fresh, plain `node` process, spoken
// to over gRPC the way the engine speaks to it: serialized providers run there exactly as under `pulumi up`.
/* eslint-disable @typescript-eslint/no-explicit-any -- the generated gRPC/protobuf modules are untyped here */
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

const pulumiRequire = createRequire(require.resolve("@pulumi/pulumi"));
const grpc = pulumiRequire("@grpc/grpc-js");
export const providerProto = pulumiRequire("./proto/provider_pb");
const providerGrpc = pulumiRequire("./proto/provider_grpc_pb");
const statusProto = pulumiRequire("./proto/status_pb");
const { Struct } = pulumiRequire("google-protobuf/google/protobuf/struct_pb");

export type HostMethod = "check" | "diff" | "create" | "read" | "update" | "delete";

export interface DynamicProviderHost {
  call(method: HostMethod, request: any): Promise<any>;
  /** Everything the host (and the providers in it) wrote to stderr so far. */
  stderr(): string;
  close(): void;
}

/** A protobuf Struct from plain JSON values. */
export const struct = (value: Record<string, unknown>): any => Struct.fromJavaScript(value);

/**
 * Starts the host as the engine does (`<host> <engine address>`); it prints the port it serves on. `env` is
 * added to the host's environment (e.g. NODE_EXTRA_CA_CERTS); `cwd` is where the engine would run it.
 */
export function startDynamicProviderHost(
  env: NodeJS.ProcessEnv = {},
  cwd = join(__dirname, "..", ".."),
): Promise<DynamicProviderHost> {
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
    cwd,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`dynamic-provider host did not start: ${stderr}`));
      // A guard against a host that never starts, not a budget: at load 40 on 2 cores 30 s was missed.
    }, 300_000);
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
            client[method](request, { deadline: Date.now() + 60_000 }, (err: any, response: any) =>
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

/** The ErrorResourceInitFailed detail the host packs into a failed Create/Update, if any. */
export function initFailureDetail(
  error: any,
): { id: string; properties: Record<string, unknown>; reasons: string[] } | undefined {
  const [bin] = error.metadata?.get("grpc-status-details-bin") ?? [];
  if (!bin) return undefined;
  const status = statusProto.Status.deserializeBinary(new Uint8Array(bin));
  const detail = status
    .getDetailsList()[0]
    .unpack(providerProto.ErrorResourceInitFailed.deserializeBinary, "pulumirpc.ErrorResourceInitFailed");
  return {
    id: detail.getId(),
    properties: detail.getProperties().toJavaScript(),
    reasons: detail.getReasonsList(),
  };
}
