// Reads Pulumi.yaml and Pulumi.<stack>.yaml the way the CLI prepares config for a program, without the CLI:
// bare keys put in the project's namespace, project defaults and values applied (pulumi/pulumi
// pkg/workspace/config.go, mergeConfig), objects and arrays as JSON text, and encrypted (`secure:`) values
// replaced by placeholders because there is nothing here to decrypt them with (tests pass a decrypter).
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";

export interface StackConfig {
  project: string;
  /** Full keys (`project:key`) → string values, as the program receives them. */
  config: Record<string, string>;
  /** Full keys whose values are secret. */
  secretKeys: string[];
  /** Where inside object values the encrypted leaves are: `project:key.field` (`mastodon-media:mastodonEnvExtra.SMTP_PASSWORD`). */
  secretLeaves: string[];
}

/** The offline example stack (Pulumi.example.yaml), synth's default: a name nobody gives an instance. */
export const EXAMPLE_STACK = "example";

/** What an encrypted value becomes offline: recognisable, and never the real secret. */
export const placeholderFor = (key: string) => `placeholder-for-${key.replace(/[^A-Za-z0-9]+/g, "-")}`;

function isSecure(value: unknown): value is { secure: string } {
  return (
    typeof value === "object" && value !== null && typeof (value as { secure?: unknown }).secure === "string"
  );
}

/**
 * Replaces `secure:` leaves inside an object value; reports whether there were any, and adds the path of each
 * one below the top level (`key.field`, `key[0]`) to `leaves`.
 */
function unsecure(
  value: unknown,
  key: string,
  decrypt: Decrypt | undefined,
  leaves: string[] = [],
  at = key,
): { value: unknown; secret: boolean } {
  if (isSecure(value)) {
    if (at !== key) leaves.push(at);
    return { value: decrypt ? decrypt(value.secure) : placeholderFor(key), secret: true };
  }
  if (Array.isArray(value)) {
    const parts = value.map((v, i) => unsecure(v, `${key}-${i}`, decrypt, leaves, `${at}[${i}]`));
    return { value: parts.map((p) => p.value), secret: parts.some((p) => p.secret) };
  }
  if (typeof value === "object" && value !== null) {
    const parts = Object.entries(value).map(
      ([k, v]) => [k, unsecure(v, `${key}-${k}`, decrypt, leaves, `${at}.${k}`)] as const,
    );
    return {
      value: Object.fromEntries(parts.map(([k, p]) => [k, p.value])),
      secret: parts.some(([, p]) => p.secret),
    };
  }
  return { value, secret: false };
}

/** Turns a `secure:` ciphertext into its plain text. */
export type Decrypt = (ciphertext: string) => string;

const asConfigString = (value: unknown) =>
  typeof value === "object" && value !== null ? JSON.stringify(value) : String(value);

/** The project's name from Pulumi.yaml: the namespace of its config keys (whatever `pulumi new` named it). */
export function readProjectName(projectDir: string): string {
  return (parseYaml(readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { name: string }).name;
}

/** `decrypt` (tests): the plain text of encrypted values instead of placeholders. */
export function readStackConfig(projectDir: string, stack: string, decrypt?: Decrypt): StackConfig {
  const project = parseYaml(readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as {
    name: string;
    config?: Record<string, { default?: unknown; value?: unknown } | string | number | boolean | unknown[]>;
  };
  const stackFile = path.join(projectDir, `Pulumi.${stack}.yaml`);
  let stackDoc: { config?: Record<string, unknown> };
  try {
    stackDoc = (parseYaml(readFileSync(stackFile, "utf8")) ?? {}) as typeof stackDoc;
  } catch (err) {
    throw new Error(`cannot read the stack file Pulumi.${stack}.yaml: ${(err as Error).message}`, {
      cause: err,
    });
  }
  const fullKey = (key: string) => (key.includes(":") ? key : `${project.name}:${key}`);
  const config: Record<string, string> = {};
  const secretKeys: string[] = [];
  const secretLeaves: string[] = [];
  for (const [key, raw] of Object.entries(stackDoc.config ?? {})) {
    const { value, secret } = unsecure(raw, fullKey(key), decrypt, secretLeaves);
    config[fullKey(key)] = asConfigString(value);
    if (secret) secretKeys.push(fullKey(key));
  }
  for (const [key, decl] of Object.entries(project.config ?? {})) {
    const k = fullKey(key);
    if (k in config) continue;
    // A project key's `default`, another namespace's `value` (e.g. the `pulumi:tags` `pulumi new` adds).
    // Shorthand (`key: value`, arrays too) is the same thing written shorter (loaders.go, RewriteShorthandConfigValues).
    const fallback =
      typeof decl === "object" && decl !== null && !Array.isArray(decl) ? (decl.default ?? decl.value) : decl;
    if (fallback !== undefined) config[k] = asConfigString(fallback);
  }
  return { project: project.name, config, secretKeys, secretLeaves };
}
