// Reading the raw stack config from the Pulumi runtime: the program's only source of settings.
import * as pulumi from "@pulumi/pulumi";

/** Raw stack config: bare key → string value as the runtime delivers it, plus which keys are encrypted. */
export interface RawConfig {
  /** The config namespace the values came from (the project name), for naming keys in messages. */
  namespace: string;
  values: Readonly<Record<string, string>>;
  secretKeys: ReadonlySet<string>;
}

/**
 * Reads this stack's config in the project's own namespace from the Pulumi runtime. The namespace is the
 * project's name, whatever it is: `pulumi new` names the project after the user's answer and writes the
 * config as `<that name>:<key>` (see keys.ts, PROJECT_NAME).
 */
export function readStackConfig(namespace: string = pulumi.getProject()): RawConfig {
  const prefix = `${namespace}:`;
  const values: Record<string, string> = {};
  const secretKeys = new Set<string>();
  // isConfigSecret is exported by the runtime but not in its typings.
  const isSecret = (pulumi.runtime as unknown as { isConfigSecret: (key: string) => boolean }).isConfigSecret;
  for (const [fullKey, value] of Object.entries(pulumi.runtime.allConfig())) {
    if (!fullKey.startsWith(prefix)) continue;
    const key = fullKey.slice(prefix.length);
    values[key] = value;
    if (isSecret(fullKey)) secretKeys.add(key);
  }
  return { namespace, values, secretKeys };
}
