// The validated settings the program is built from: plain values, secrets as Outputs.
import type * as pulumi from "@pulumi/pulumi";
import type { EdgeRuleGroup, RulesetPhase } from "../edge-rules";
import type { MastodonRestart } from "../mastodon-env-push";

export type DnsRecordMode = "host" | "wildcard";
export type OriginKeyType = "rsa" | "ecc";
export type RestartMode = MastodonRestart;
export type { EdgeRuleGroup, RulesetPhase };

/** An access key pair; both halves are secret Outputs. */
export interface Credentials {
  accessKeyId: pulumi.Output<string>;
  secretAccessKey: pulumi.Output<string>;
}

/** Where and how to push the env block to the Mastodon server (optional). */
export interface MastodonHostSettings {
  host: string;
  user: string;
  port: number;
  envFile: string;
  restart: RestartMode;
  /** The server's SSH public host key, normalized to `<type> <base64>` (`ssh-ed25519 AAAA...`); always set when the push is on. */
  hostKey?: string;
  privateKey: pulumi.Output<string>;
  /** Mastodon's media on the server's disk, checked before the switch; undefined: not checked. */
  localMediaDir?: string;
}

/**
 * Everything the component needs, validated and completed (normalizeArgs). Plain values except the secrets
 * and the extra env variables.
 */
export interface Settings {
  domain: string;
  bucket: string;
  /** `<bucket>.<domain>`: the host Mastodon puts in media URLs. */
  mediaHost: string;
  /** Mastodon's own host (config `instanceHost`, default `domain`), where local storage served `/system/<key>`. */
  instanceHost: string;
  /** e2 S3 endpoint host name, no scheme. */
  e2Endpoint: string;
  e2Region: string;
  e2Credentials: Credentials;
  mastodonCredentials: Credentials;
  /** True when Mastodon gets the program's own e2 key because no bucket-scoped key was configured. */
  mastodonSharesProgramKey: boolean;
  /** An Output when a program passed one (checked when it resolves); plain from the stack config. */
  mastodonEnvExtra: Record<string, string> | pulumi.Output<Record<string, string>>;
  cloudflare: {
    zoneId?: string;
    dnsRecord: DnsRecordMode;
    originCertificate: { keyType: OriginKeyType; validityDays: number; generation: number };
    authenticatedOriginPulls: boolean;
    edgeRules: Record<EdgeRuleGroup, boolean>;
    /** Own the Cloudflare rule redirecting `https://<instanceHost>/system/<key>` to the media host (config key). */
    legacyMediaRedirect: boolean;
    /** Create, update or adopt no DNS record for the media host: it keeps pointing at the old storage. */
    holdMediaDns: boolean;
  };
  cnameWaitSeconds: number;
  verify: { enabled: boolean; timeoutSeconds: number };
  adopt: { bucket: boolean; dnsRecordId?: string };
  mastodonHost?: MastodonHostSettings;
  /** Push the env block to mastodonHost (config `pushMastodonEnv`); when true, mastodonHost is set. */
  pushMastodonEnv: boolean;
}
