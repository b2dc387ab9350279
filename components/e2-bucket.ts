// The media bucket on iDrive e2 and its public-read policy for Mastodon's public media prefixes.
// The bucket is a dynamic resource making only HeadBucket/CreateBucket (see providers/e2-bucket.ts for why it
// is not an aws.s3.Bucket); the policy is an aws.s3.BucketPolicy through an aws provider aimed at e2, which
// calls only Put/Get/DeleteBucketPolicy.
import * as pulumi from "@pulumi/pulumi";
// Submodule imports: loading and type-checking all of @pulumi/aws costs seconds on every cold `pulumi up`.
import { Provider } from "@pulumi/aws/provider";
import { BucketPolicy } from "@pulumi/aws/s3/bucketPolicy";
import { E2BucketResource } from "../providers/e2-bucket";
import { publicReadPolicy } from "./bucket-policy";

export interface E2BucketArgs {
  /** Bucket name; also the media subdomain label. */
  bucketName: string;
  /** e2 S3 endpoint host name, no scheme (e.g. `s3.eu-central-2.idrivee2.com`). */
  endpoint: string;
  /** Signing region of the endpoint (e2 codes such as `us-midwest-1` are not AWS regions). */
  region: string;
  /** Access key ID the program uses for S3 calls. Secret. */
  accessKeyId: pulumi.Input<string>;
  /** Secret access key the program uses for S3 calls. Secret. */
  secretAccessKey: pulumi.Input<string>;
  /** Protect the bucket so that no `pulumi destroy` or replacement can delete media. Default: true. */
  protect?: boolean;
  /**
   * Take over an existing bucket of this name (and import its policy) instead of creating one. Without it, an
   * existing bucket is an error. Default: false.
   */
  adopt?: boolean;
}

/** An e2 bucket anyone can read object by object, and nobody can list or write without keys. */
export class E2Bucket extends pulumi.ComponentResource {
  /** The aws provider aimed at the e2 endpoint, for the policy only; never the default AWS provider. */
  readonly provider: Provider;
  readonly bucket: E2BucketResource;
  readonly policy: BucketPolicy;
  readonly bucketName: pulumi.Output<string>;
  /** The bucket policy as JSON text. */
  readonly policyJson: string;

  constructor(name: string, args: E2BucketArgs, opts?: pulumi.ComponentResourceOptions) {
    super("mastodon-media:e2:Bucket", name, {}, opts);

    this.provider = new Provider(
      `${name}-e2`,
      {
        region: args.region,
        accessKey: args.accessKeyId,
        secretKey: args.secretAccessKey,
        endpoints: [{ s3: `https://${args.endpoint}` }],
        s3UsePathStyle: true,
        // e2 has no STS, IAM or instance metadata, and its region codes are not AWS's.
        skipCredentialsValidation: true,
        skipRequestingAccountId: true,
        skipRegionValidation: true,
        skipMetadataApiCheck: true,
      },
      { parent: this },
    );

    // The bucket: never deleted by Pulumi (protect stops destroy and replacement; retainOnDelete keeps it on
    // e2 even if it leaves the program after an unprotect).
    this.bucket = new E2BucketResource(
      `${name}-bucket`,
      {
        bucket: args.bucketName,
        endpoint: args.endpoint,
        region: args.region,
        accessKeyId: args.accessKeyId,
        secretAccessKey: args.secretAccessKey,
        adopt: args.adopt ?? false,
      },
      { parent: this, protect: args.protect ?? true, retainOnDelete: true },
    );

    // Never imported, even when the bucket is adopted: a bucket made in the console has no policy to import,
    // and creating this one is a PutBucketPolicy, which replaces whatever policy the bucket had.
    this.policyJson = JSON.stringify(publicReadPolicy(args.bucketName));
    this.policy = new BucketPolicy(
      `${name}-policy`,
      { bucket: this.bucket.bucket, policy: this.policyJson },
      { parent: this, provider: this.provider },
    );

    this.bucketName = this.bucket.bucket;
    this.registerOutputs({ bucketName: this.bucketName, policy: this.policyJson });
  }
}
