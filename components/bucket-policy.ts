// The bucket policy document, built in plain TypeScript so it can be read, tested and evaluated offline.
import { PUBLICLY_READABLE_PREFIXES } from "./media-paths";

/** An IAM-style policy document as S3 (and e2) accept it. */
export interface PolicyDocument {
  Version: "2012-10-17";
  Statement: {
    Sid: string;
    Effect: "Allow" | "Deny";
    Principal: "*" | { AWS: string | string[] };
    Action: string | string[];
    Resource: string | string[];
  }[];
}

/**
 * Anyone may read an object by its exact key under Mastodon's public media prefixes and the media check's
 * probe prefix (components/media-paths.ts); nothing else is granted to the public. Users' data archives
 * (`backups/…`) and import files stay private: Mastodon hands archives out through expiring signed links.
 * Listing, writing, deleting and changing the policy all stay with keys. The bucket is never made "public",
 * which on e2 means read *and* write.
 */
export function publicReadPolicy(
  bucket: string,
  prefixes: readonly string[] = PUBLICLY_READABLE_PREFIXES,
): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "PublicReadMastodonMedia",
        Effect: "Allow",
        Principal: "*",
        Action: "s3:GetObject",
        Resource: prefixes.map((prefix) => `arn:aws:s3:::${bucket}/${prefix}*`),
      },
    ],
  };
}
