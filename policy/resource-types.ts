// Type tokens of the resources the guardrails look at. Matching on the token instead of the SDK class keeps
// the pack from loading @pulumi/aws and @pulumi/cloudflare (seconds of start-up in every preview).

/** The program's e2 bucket: the dynamic resource of providers/e2-bucket.ts (a test keeps the two equal). */
export const E2_BUCKET = "pulumi-nodejs:dynamic/mastodon-media/e2:Bucket";
/** `aws.s3.Bucket` in @pulumi/aws 7: not used (it cannot work against e2), still held to protection if added. */
export const BUCKET = "aws:s3/bucket:Bucket";
/** `aws.s3.BucketV2`, the deprecated name @pulumi/aws 7 still accepts for the same bucket. */
export const BUCKET_V2 = "aws:s3/bucketV2:BucketV2";
/** `aws.s3.BucketPolicy`; its `policy` input is a JSON string. */
export const BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy";
/** `cloudflare.DnsRecord` in @pulumi/cloudflare 6. */
export const DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord";
/** `cloudflare.OriginCaCertificate` in @pulumi/cloudflare 6; `hostnames` lists what it covers. */
export const ORIGIN_CA_CERTIFICATE = "cloudflare:index/originCaCertificate:OriginCaCertificate";

/** Record types Cloudflare can proxy; only these can carry the media host. */
export const PROXIABLE_RECORD_TYPES: readonly string[] = ["A", "AAAA", "CNAME"];
