// Anonymous readers may fetch objects by key, only under Mastodon's public media prefixes (the same list the
// program's policy is built from), and do nothing else: no listing, no writing, no deleting, no reading or
// changing the policy. On e2 a "public" bucket is writable too, so this is the only safe shape. Users' data
// archives (`backups/…`) live in the same bucket: a grant on `<bucket>/*` would publish them.
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { PUBLICLY_READABLE_PREFIXES } from "../../components/media-paths";
import { BUCKET_POLICY } from "../resource-types";

/** The fields of an IAM-style statement this check reads; anything else (Condition, …) only narrows a grant. */
interface Statement {
  Sid?: unknown;
  Effect?: unknown;
  Principal?: unknown;
  NotPrincipal?: unknown;
  Action?: unknown;
  NotAction?: unknown;
  Resource?: unknown;
  NotResource?: unknown;
}

// `arn:aws:s3:::<bucket>/<key pattern>`: a bucket name without wildcards, then a non-empty key part.
const OBJECT_ARN = /^arn:aws[a-z-]*:s3:::[^/*?]+\/.+$/;

/** Whether an object-key pattern stays under one public prefix (no wildcard before the prefix ends). */
function underPublicPrefix(keyPattern: string): boolean {
  return PUBLICLY_READABLE_PREFIXES.some((prefix) => keyPattern.startsWith(prefix));
}

function asList(value: unknown): unknown[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

/** `"*"`, `{"AWS": "*"}`, `{"AWS": ["*", …]}` (any principal kind whose value is or contains `*`). */
function isAnonymous(principal: unknown): boolean {
  if (principal === "*") return true;
  if (principal === null || typeof principal !== "object") return false;
  return Object.values(principal).some((v) => asList(v).includes("*"));
}

function label(statement: Statement, index: number): string {
  return typeof statement.Sid === "string" && statement.Sid !== "" ? `"${statement.Sid}"` : `#${index + 1}`;
}

/** Every way `policy` (the BucketPolicy input: JSON text, or an object) grants anonymous readers too much. */
export function anonymousGrantProblems(policy: unknown): string[] {
  let doc: unknown = policy;
  if (typeof policy === "string") {
    try {
      doc = JSON.parse(policy);
    } catch (e) {
      return [`The bucket policy is not valid JSON (${(e as Error).message}).`];
    }
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) {
    return ["The bucket policy is not a JSON object."];
  }
  const problems: string[] = [];
  asList((doc as { Statement?: unknown }).Statement).forEach((raw, index) => {
    if (raw === null || typeof raw !== "object") {
      problems.push(`Statement #${index + 1} is not a JSON object.`);
      return;
    }
    const statement = raw as Statement;
    // A Deny grants nothing; anything else S3 would read as Allow or reject.
    if (statement.Effect === "Deny") return;
    const name = label(statement, index);
    if (statement.NotPrincipal !== undefined) {
      problems.push(
        `Statement ${name} allows with NotPrincipal, which grants everyone not listed, anonymous readers included.`,
      );
      return;
    }
    if (!isAnonymous(statement.Principal)) return;
    if (statement.NotAction !== undefined) {
      problems.push(
        `Statement ${name} uses NotAction with an anonymous principal, which grants every action not listed.`,
      );
    }
    const actions = asList(statement.Action).filter(
      (a) => typeof a !== "string" || a.toLowerCase() !== "s3:getobject",
    );
    if (actions.length > 0) {
      problems.push(
        `Statement ${name} grants anonymous principals ${actions.map(String).join(", ")}; only s3:GetObject is allowed.`,
      );
    }
    if (statement.NotResource !== undefined) {
      problems.push(
        `Statement ${name} uses NotResource with an anonymous principal, which grants every resource not listed.`,
      );
    }
    const all = asList(statement.Resource);
    const resources = all.filter((r) => typeof r !== "string" || !OBJECT_ARN.test(r));
    if (resources.length > 0) {
      problems.push(
        `Statement ${name} grants anonymous principals access to ${resources.map((r) => JSON.stringify(r)).join(", ")}, ` +
          `which is not an object ARN (arn:aws:s3:::<bucket>/<key pattern>).`,
      );
    }
    const outside = all.filter(
      (r) => typeof r === "string" && OBJECT_ARN.test(r) && !underPublicPrefix(r.slice(r.indexOf("/") + 1)),
    );
    if (outside.length > 0) {
      problems.push(
        `Statement ${name} grants anonymous reads of ${outside.map((r) => JSON.stringify(r)).join(", ")}, ` +
          `outside Mastodon's public media prefixes: users' archives (backups/) would be readable. ` +
          `Allowed: <bucket>/<prefix>* for ${PUBLICLY_READABLE_PREFIXES.join(", ")}.`,
      );
    }
  });
  return problems;
}

export const bucketPolicyAnonymousReadOnly: ResourceValidationPolicy = {
  name: "bucket-policy-anonymous-read-only",
  description:
    "A bucket policy may grant anonymous principals s3:GetObject on objects under Mastodon's public media prefixes (Effect Allow), and nothing else.",
  remediationSteps:
    "Grant the public only s3:GetObject on arn:aws:s3:::<bucket>/<prefix>* for Mastodon's public media prefixes (components/media-paths.ts); give listing and writing to access keys.",
  validateResource: (args, reportViolation) => {
    if (args.type !== BUCKET_POLICY)
      args.notApplicable(`Policy only applies to resources of type '${BUCKET_POLICY}'`);
    for (const problem of anonymousGrantProblems(args.props.policy)) reportViolation(problem);
  },
};
