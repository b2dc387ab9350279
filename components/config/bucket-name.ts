// The bucket key: the e2 bucket's name, which is also the media host's first label. It has no default: e2
// bucket names are shared by every e2 account, so a common word such as "files" (the usual guide's choice) is
// almost certainly another account's bucket already, and the name cannot be changed later.
import { show, type Problems } from "./problems";

const BUCKET_NAME = /^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/;
/** What the first part of a suggested name is: the media host then reads `media-example.example.social`. */
const SUGGESTION_PREFIX = "media-";

/** Whether `name` is an S3 bucket name that is also one DNS label (so that `<bucket>.<domain>` is a host). */
export function isBucketName(name: string): boolean {
  return BUCKET_NAME.test(name) && !name.startsWith("xn--") && !name.endsWith("-s3alias");
}

/**
 * A name of the form `media-<first label of the domain>` (`media-example` for example.social) that passes the
 * bucket rules and keeps `<name>.<domain>` within 253 characters; undefined when no such name can be made from
 * this domain (the message then shows the form alone).
 */
export function suggestBucketName(domain: string | undefined): string | undefined {
  const label = domain?.split(".")[0];
  if (!label) return undefined;
  const room = Math.min(63, 253 - domain!.length - 1) - SUGGESTION_PREFIX.length;
  const name = `${SUGGESTION_PREFIX}${label.slice(0, Math.max(room, 0))}`.replace(/-+$/, "");
  return isBucketName(name) && name.length + 1 + domain!.length <= 253 ? name : undefined;
}

/**
 * Parses the bucket key. `domain` is the validated zone apex (undefined when it is missing or bad), used for the
 * media host in messages and for a suggested name. Returns undefined when the key is missing or invalid.
 */
export function parseBucket(
  value: unknown,
  domain: string | undefined,
  problems: Problems,
): string | undefined {
  if (value === undefined) {
    const suggestion = suggestBucketName(domain);
    const host = `<bucket>.${domain ?? "<domain>"}`;
    const form = domain ? `<something>-${domain.split(".")[0]}` : "<something>-<first label of your domain>";
    const example = suggestion
      ? `a form like ${show(suggestion)} (${form}): \`pulumi config set bucket ${suggestion}\``
      : `a form like ${form}: \`pulumi config set bucket <name>\``;
    return problems.add(
      "bucket",
      value,
      `the e2 bucket name, chosen once: it becomes the media host's first label (${host}, in every media URL ` +
        `Mastodon hands out), it must be a name no other e2 account uses (bucket names are shared by all e2 ` +
        `accounts, so common words such as "files" are taken), and it cannot be changed later (the bucket is ` +
        `protected, and another name means a new bucket and new media URLs). Try ${example}`,
    );
  }
  if (typeof value !== "string" || !isBucketName(value)) {
    return problems.add(
      "bucket",
      value,
      "an S3 bucket name that is also one DNS label: 3-63 characters, lowercase letters, digits and hyphens, starting and ending with a letter or digit",
    );
  }
  return value;
}
