// The guardrails as data, so tests can read them without starting the policy server that `new PolicyPack`
// starts (index.ts does that, and only `pulumi preview --policy-pack policy` loads index.ts).
import type { PolicyPackArgs } from "@pulumi/policy";
import { bucketPolicyAnonymousReadOnly } from "./policies/bucket-policy-anonymous-read-only";
import { e2BucketProtected } from "./policies/e2-bucket-protected";
import { mediaDnsRecordProxied } from "./policies/media-dns-record-proxied";
import { originCertificateCoversMediaHost } from "./policies/origin-certificate-covers-media-host";

/** Name shown in previews and in Pulumi Cloud; letters, digits, `-`, `_`, `.` only. */
export const PACK_NAME = "mastodon-media-guardrails";

export const packArgs: PolicyPackArgs = {
  description:
    "Keeps a Mastodon media bucket read-only to the public, behind Cloudflare, with TLS, and undeletable.",
  // Mandatory: a violation fails the preview and blocks the update, whichever stack it is.
  enforcementLevel: "mandatory",
  policies: [
    bucketPolicyAnonymousReadOnly,
    mediaDnsRecordProxied,
    originCertificateCoversMediaHost,
    e2BucketProtected,
  ],
};
