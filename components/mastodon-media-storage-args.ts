// The public arguments of MastodonMediaStorage: what a Pulumi program passes, with the same names, defaults and
// validation as the stack config keys of this repository's own program (README: Configuration). Both go
// through one normaliser (components/config/normalize-args.ts, `normalizeArgs`) to the internal Settings.
//
// Which fields take an Output: the secrets and the extra env variables, which only flow into resource
// inputs. The others decide which resources exist, what they are named or how they are imported
// (edge rule groups, DNS record mode, the media check, the env push, adoption, the certificate generation),
// or are validated against each other before anything is registered (the media host is `<bucket>.<domain>`,
// the region is derived from the endpoint). Pulumi must know a program's resources while Outputs are still
// unresolved, so these are plain values, as in pulumi-awsx, whose arguments that shape the resource graph are
// plain too. A plain field given an Output is refused with an error naming it. The numbers are plain so that
// every range is checked before anything is registered.
import type * as pulumi from "@pulumi/pulumi";
import type { EdgeRuleGroup } from "./edge-rules";
import type { MastodonRestart } from "./mastodon-env-push";

/** Where and how the env block is pushed to the Mastodon server over SSH (used when `pushMastodonEnv`). */
export interface MastodonHostArgs {
  /** SSH host name or IP address of the Mastodon server. */
  host: string;
  /** Unix user that owns Mastodon's env file. */
  user: string;
  /** SSH port. Default: 22. */
  port?: number;
  /** Absolute path of Mastodon's env file. Default: `/home/mastodon/live/.env.production`. */
  envFile?: string;
  /** How web and sidekiq are restarted after the push. Default: `"systemd"`. */
  restart?: MastodonRestart;
  /**
   * The server's SSH public host key, `ssh-ed25519 AAAA...` (without the comment). Required when
   * `pushMastodonEnv` is true: without it the connection would trust whatever answers.
   */
  hostKey?: string;
  /**
   * Absolute path of the instance's `public/system` on the server, checked before the switch; `false` skips the
   * check. Default: `public/system` beside `envFile`.
   */
  localMediaDir?: string | false;
}

/** Existing resources to take over instead of creating them. */
export interface AdoptArgs {
  /** Take over an existing bucket of this name (without it, an existing bucket is an error). Default: false. */
  bucket?: boolean;
  /** ID of an existing Cloudflare DNS record for the media host to import (32 hex); needs `cloudflareZoneId`. */
  dnsRecordId?: string;
}

/** Arguments of `MastodonMediaStorage`. Plain fields are plain on purpose: see the comment at the top of the file. */
export interface MastodonMediaStorageArgs {
  /** Cloudflare zone apex of the instance, e.g. `example.social` (no scheme). Required. */
  domain: string;
  /**
   * e2 bucket name; also the media subdomain label: media is served from `<bucket>.<domain>`. Required, with no
   * default: e2 bucket names are shared by all e2 accounts (common words are taken), and the name cannot be
   * changed later. A form such as `media-<first label of the domain>` is more likely to be free.
   */
  bucket: string;
  /** e2 S3 endpoint host of the bucket's region, e.g. `s3.eu-central-2.idrivee2.com` (a leading `https://` is stripped). Required. */
  e2Endpoint: string;
  /** Signing region. Default: derived from `s3.<region>.idrivee2.com` endpoints, else `us-east-1`. */
  e2Region?: string;
  /** e2 access key ID the component uses for its S3 calls. Required; kept secret. */
  e2AccessKeyId: pulumi.Input<string>;
  /** e2 secret access key the component uses for its S3 calls. Required; kept secret. */
  e2SecretAccessKey: pulumi.Input<string>;
  /**
   * Mastodon's own e2 key, limited to this bucket in the e2 console: goes into the env block. Both halves or
   * neither. Default: none, and Mastodon gets the component's own key (with a warning). Kept secret.
   */
  mastodonAccessKeyId?: pulumi.Input<string>;
  /** Secret half of `mastodonAccessKeyId`. Kept secret. */
  mastodonSecretAccessKey?: pulumi.Input<string>;
  /**
   * Extra variables for Mastodon's env block, e.g. `{ S3_FORCE_SINGLE_REQUEST: "true" }`. Variables the
   * component sets itself and `S3_KEY_PREFIX` are refused. Default: none. An Output is checked when it resolves.
   */
  mastodonEnvExtra?: pulumi.Input<Record<string, string>>;
  /** Cloudflare zone ID (32 hex). Default: looked up by `domain`. Plain: it forms the DNS record's import ID. */
  cloudflareZoneId?: string;
  /** `"host"`: a proxied CNAME for the media host only (safer); `"wildcard"`: `*.<domain>`. Default: `"host"`. */
  dnsRecord?: "host" | "wildcard";
  /** Origin CA certificate key type: `"rsa"` (RSA 2048) or `"ecc"` (ECDSA P-256). Default: `"rsa"`. */
  originCertificate?: "rsa" | "ecc";
  /** Origin CA certificate validity in days: 7, 30, 90, 365, 730, 1095 or 5475. Default: 5475 (15 years). */
  originCertificateValidityDays?: number;
  /**
   * Bump to rotate the origin certificate (new key and certificate first, old ones retired after e2 serves the
   * new one). Whole number, at least 1. Default: 1. Plain: it is the key's and certificate's replacement trigger.
   */
  originCertificateGeneration?: number;
  /**
   * Turn on zone-level Authenticated Origin Pulls (reaches every origin of the zone; e2 cannot check it, so it
   * protects nothing for media). Default: false. Plain: it decides whether the zone setting resource exists.
   */
  authenticatedOriginPulls?: boolean;
  /**
   * Cloudflare rule groups for the media host: `ssl` (Full strict), `cache`, `headers` (CORS, strip `x-amz-*`),
   * `methods` (GET/HEAD/OPTIONS of public media paths only). Default: all four. Plain: one rule resource per group.
   */
  edgeRules?: EdgeRuleGroup[];
  /**
   * How long a deployment waits for e2 to serve the origin certificate for the media host (the e2 console's
   * CNAME step) before failing with instructions, in seconds, 0 to 3600. Default: 0.
   */
  cnameWaitSeconds?: number;
  /** Run the end-to-end media check after every deploy that changes the media path. Default: true. Plain: it decides whether the check exists. */
  verify?: boolean;
  /** How long the media check retries while DNS and the edge settle, in seconds, 1 to 3600. Default: 300. */
  verifyTimeoutSeconds?: number;
  /** Existing resources to take over instead of creating. Default: none. Plain: adoption is an import option. */
  adopt?: AdoptArgs;
  /** Where `pushMastodonEnv` pushes the env block. Default: none. Plain: it shapes the push's commands. */
  mastodonHost?: MastodonHostArgs;
  /** Private SSH key (OpenSSH or PEM text) for `mastodonHost`. Required with `mastodonHost`; kept secret. */
  mastodonHostSshKey?: pulumi.Input<string>;
  /**
   * Write the env block into Mastodon's env file on `mastodonHost` over SSH and restart web and sidekiq, after
   * the media check passed (needs `mastodonHost.hostKey` and Mastodon's own key). Default: false. Plain: it
   * decides whether the push exists.
   */
  pushMastodonEnv?: boolean;
  /**
   * Mastodon's own host (its `WEB_DOMAIN`, else `LOCAL_DOMAIN`), where local storage served `/system/<key>`.
   * Default: `domain`. Never the media host.
   */
  instanceHost?: string;
  /**
   * Own one more Cloudflare rule that redirects `https://<instanceHost>/system/<key>` to the media host (301),
   * for old URLs after leaving local storage. Needs `instanceHost` inside the zone. Default: false. Plain: it
   * decides whether the rule exists.
   */
  legacyMediaRedirect?: boolean;
  /**
   * Leave the media host's DNS record alone while an old bucket still serves that host: no record, no media
   * check, no push. Default: false. Plain: it decides which resources exist.
   */
  holdMediaDns?: boolean;
}

/** The fields that take an Output; every other field must be a plain value. */
export const INPUT_ARGS = [
  "e2AccessKeyId",
  "e2SecretAccessKey",
  "mastodonAccessKeyId",
  "mastodonSecretAccessKey",
  "mastodonEnvExtra",
  "mastodonHostSshKey",
] as const satisfies readonly (keyof MastodonMediaStorageArgs)[];
