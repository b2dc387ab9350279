// Reading the raw stack config from the Pulumi runtime: the program's only source of settings.
import * as pulumi from "@pulumi/pulumi";
import { CONFIG_NAMESPACE } from "./keys";

/** Raw stack config: bare key → string value as the runtime delivers it, plus which keys are encrypted. */
export interface RawConfig {
  values: Readonly<Record<string, string>>;
  secretKeys: ReadonlySet<string>;
}

/** Reads this stack's config in the `mastodon-media` namespace from the Pulumi runtime. */
export function readStackConfig(): RawConfig {
  const prefix = `${CONFIG_NAMESPACE}:`;
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
  return { values, secretKeys };
}
