// A valid stack configuration for tests, as the CLI hands it to the program (full keys, string values).
import { PROJECT_NAME, type RawConfig } from "../../components/config";

export const SECRET_VALUES = {
  e2AccessKeyId: "E2KEYID0000000000001",
  e2SecretAccessKey: "e2-secret-access-key-value-0001",
  mastodonAccessKeyId: "MASTODONKEYID0000002",
  mastodonSecretAccessKey: "mastodon-secret-access-key-0002",
  mastodonHostSshKey:
    "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-ssh-key-body\n-----END OPENSSH PRIVATE KEY-----",
};

/** Bare keys → values of a minimal valid stack; secrets are marked secret. */
export function minimalConfig(
  overrides: Record<string, string | undefined> = {},
  namespace = PROJECT_NAME,
): RawConfig {
  const values: Record<string, string> = {
    domain: "example.social",
    // A test value: a real stack needs a name no other e2 account uses (the program has no default).
    bucket: "files",
    e2Endpoint: "s3.eu-central-2.idrivee2.com",
    e2AccessKeyId: SECRET_VALUES.e2AccessKeyId,
    e2SecretAccessKey: SECRET_VALUES.e2SecretAccessKey,
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete values[k];
    else values[k] = v;
  }
  const secretKeys = new Set(Object.keys(values).filter((k) => k in SECRET_VALUES));
  return { namespace, values, secretKeys };
}

/** The same config with full keys (`<namespace>:<key>`), for the program runner. */
export function fullKeys(raw: RawConfig): { config: Record<string, string>; secretKeys: string[] } {
  const config = Object.fromEntries(Object.entries(raw.values).map(([k, v]) => [`${raw.namespace}:${k}`, v]));
  return { config, secretKeys: [...raw.secretKeys].map((k) => `${raw.namespace}:${k}`) };
}
