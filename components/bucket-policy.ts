// The bucket policy document, built in plain TypeScript so it can be read, tested and evaluated offline.

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
 * Anyone may read an object by its exact key; nothing else is granted to the public. Listing, writing,
 * deleting and changing the policy all stay with keys. The bucket is never made "public", which on e2
 * means read *and* write.
 */
export function publicReadPolicy(bucket: string): PolicyDocument {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "PublicReadObjects",
        Effect: "Allow",
        Principal: "*",
        Action: "s3:GetObject",
        Resource: `arn:aws:s3:::${bucket}/*`,
      },
    ],
  };
}
