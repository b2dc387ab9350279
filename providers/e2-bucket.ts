// E2BucketResource: the media bucket on iDrive e2, through the only bucket calls e2 documents.
//
// Not an `aws.s3.Bucket`: in @pulumi/aws 7 that resource reads and writes tags through S3 Control, which
// fails before it is sent when the account ID lookup is skipped (as it must be on e2, which has no STS;
// hashicorp/terraform-provider-aws#45520, #46202), and its read makes a dozen GetBucket* calls whose answers
// on e2 are undocumented. This provider makes two calls, with @aws-sdk/client-s3:
//   create: HeadBucket; CreateBucket only when the bucket is absent. When HeadBucket answers 403, one
//           ListBuckets (in iDrive's list of supported calls) tells another account's bucket from a wrong key.
//   read:   HeadBucket.
//   delete: nothing. The bucket holds the instance's media; it is left in place, and the component also sets
//           `protect` and `retainOnDelete`, so Pulumi never even asks.
// An existing bucket of that name is an error pointing at `adopt.bucket`; with `adopt: true` create takes it
// over (HeadBucket only) instead. This is how adoption works here rather than Pulumi's `import` option: the
// dynamic-provider host rebuilds the provider from the `__provider` text in the resource's properties, and an
// import's Read carries none (pulumi/pulumi#16175, open; the host's fallback to `inputs` only serves `get`).
//
// CreateBucket sends no LocationConstraint: iDrive's developer guide creates buckets with
// `aws s3 mb --endpoint-url …` under `region = us-east-1`, which sends none; the endpoint picks the region.
// (@aws-sdk/client-s3 would add one on its own for any other signing region; see createOrAdopt.)
// Should e2 refuse that, the error says what to do instead (create it in the console and adopt it).
//
// The e2 key arrives as secret inputs and leaves as outputs the component marks secret again
// (additionalSecretOutputs). Pulumi serializes `e2BucketProvider` into state: it captures only functions and
// plain numbers; modules are `require`d inside the methods; error texts are scrubbed of the key.
/* eslint-disable @typescript-eslint/no-require-imports -- see the note above: requires must stay inside */
import * as pulumi from "@pulumi/pulumi";

/** Module and type name given to `pulumi.dynamic.Resource`; together they form {@link E2_BUCKET_TYPE}. */
export const E2_BUCKET_MODULE = "mastodon-media/e2";
export const E2_BUCKET_TYPE_NAME = "Bucket";
/** The resource's full type token, as it appears in state and in the CrossGuard pack. */
export const E2_BUCKET_TYPE = `pulumi-nodejs:dynamic/${E2_BUCKET_MODULE}:${E2_BUCKET_TYPE_NAME}`;

/** Time-outs and attempts for every S3 call. Plain numbers: stored in plain text with the provider. */
export interface E2BucketTiming {
  /** TCP (and TLS) connect time-out per attempt, ms. */
  connectionTimeoutMs: number;
  /** Time-out for a whole request once connected, ms. */
  requestTimeoutMs: number;
  /** Attempts per call (the SDK retries throttling and 5xx); 1 = no retry. */
  maxAttempts: number;
}

export const DEFAULT_E2_BUCKET_TIMING: E2BucketTiming = {
  connectionTimeoutMs: 5_000,
  requestTimeoutMs: 20_000,
  maxAttempts: 2,
};

/** Arguments of {@link E2BucketResource}. */
export interface E2BucketResourceArgs {
  /** Bucket name (3-63 lowercase letters, digits, hyphens and dots). */
  bucket: pulumi.Input<string>;
  /** e2 S3 endpoint as `host` or `host:port`, no scheme (e.g. `s3.eu-central-2.idrivee2.com`). HTTPS. */
  endpoint: pulumi.Input<string>;
  /** Signing region of the endpoint (e2 codes such as `us-midwest-1` are accepted as they are). */
  region: pulumi.Input<string>;
  /** Access key ID of the program's e2 key. Stored as a secret. */
  accessKeyId: pulumi.Input<string>;
  /** Secret access key of the program's e2 key. Stored as a secret. */
  secretAccessKey: pulumi.Input<string>;
  /** Take over an existing bucket of this name instead of refusing it. Default: false. */
  adopt?: pulumi.Input<boolean>;
}

/** Resolved inputs, as the provider receives them after `check`. */
export interface E2BucketInputs {
  bucket: string;
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
  adopt: boolean;
}

/** Resolved outputs: the inputs plus how the bucket came to be managed. */
export interface E2BucketOutputs extends E2BucketInputs {
  /** True if this program created the bucket; false if it adopted an existing one. */
  created: boolean;
}

type WithProvider<T> = T & { __provider?: string };

// The engine's placeholder for a value not known yet (during preview), as the provider receives it.
const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";
/** Inputs whose change means another bucket (or another place): a replacement, which `protect` stops. */
const IDENTITY_INPUTS = ["bucket", "endpoint"] as const;
/** Inputs that change how the bucket is reached, not which bucket: an update. */
const OTHER_INPUTS = ["region", "accessKeyId", "secretAccessKey"] as const;

/** Every problem with `news`, for `check` and the constructor. Unknown values are not judged. Never echoes a key. */
export function validateBucketInputs(inputs: object): { property: string; reason: string }[] {
  const news = inputs as Record<string, unknown>;
  const failures: { property: string; reason: string }[] = [];
  const text = (name: string, secret = false): string | undefined => {
    const value = news[name];
    if (value === UNKNOWN) return undefined;
    if (typeof value !== "string" || value.trim() === "") {
      failures.push({ property: name, reason: `${name} is required and must be a non-empty string` });
      return undefined;
    }
    if (secret && /\s/.test(value)) {
      failures.push({ property: name, reason: `${name} contains whitespace (its value is not shown)` });
    }
    return value;
  };
  const bucket = text("bucket");
  if (
    bucket !== undefined &&
    (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket) ||
      bucket.includes("..") ||
      /^\d+\.\d+\.\d+\.\d+$/.test(bucket))
  ) {
    failures.push({
      property: "bucket",
      reason: `bucket must be 3-63 lowercase letters, digits, hyphens and dots, starting and ending with a letter or digit ("${bucket}")`,
    });
  }
  const endpoint = text("endpoint");
  if (endpoint !== undefined && !/^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i.test(endpoint)) {
    failures.push({
      property: "endpoint",
      reason: `endpoint must be "host" or "host:port", without scheme or path ("${endpoint}")`,
    });
  }
  text("region");
  text("accessKeyId", true);
  text("secretAccessKey", true);
  const adopt = news.adopt;
  if (adopt !== undefined && adopt !== UNKNOWN && typeof adopt !== "boolean") {
    failures.push({
      property: "adopt",
      reason: `adopt must be true or false (got ${JSON.stringify(adopt)})`,
    });
  }
  return failures;
}

/**
 * The parts of @aws-sdk/client-s3 used here, declared here: typing them from the SDK would make every cold,
 * type-checked `pulumi up` load the SDK's ~600 declaration files (about 1 s more; measured with tsc).
 */
interface S3Sdk {
  S3Client: new (config: object) => S3ClientLike;
  HeadBucketCommand: new (input: { Bucket: string }) => object;
  CreateBucketCommand: new (input: { Bucket: string }) => object;
  ListBucketsCommand: new (input: object) => object;
}
type Handler = (args: { input: object }) => Promise<unknown>;
interface S3ClientLike {
  send(command: object): Promise<unknown>;
  destroy(): void;
  middlewareStack: { add(middleware: (next: Handler) => Handler, options: object): void };
}

function s3Sdk(): S3Sdk {
  return require("@aws-sdk/client-s3") as S3Sdk;
}

/** An S3 client for the e2 endpoint: path style, checksums only when required, bounded time. */
function s3Client(inputs: E2BucketInputs, timing: E2BucketTiming) {
  const { S3Client } = s3Sdk();
  return new S3Client({
    endpoint: `https://${inputs.endpoint}`,
    region: inputs.region,
    forcePathStyle: true,
    credentials: { accessKeyId: inputs.accessKeyId, secretAccessKey: inputs.secretAccessKey },
    // e2 and others reject the newer default checksum headers; Mastodon's own SDK needs the same setting.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    maxAttempts: timing.maxAttempts,
    requestHandler: {
      connectionTimeout: timing.connectionTimeoutMs,
      requestTimeout: timing.requestTimeoutMs,
    },
  });
}

/** What HeadBucket said: the bucket is there (and this key may use it), absent, or something else went wrong. */
type HeadResult =
  { state: "exists" } | { state: "absent" } | { state: "error"; status?: number; detail: string };

/** The error's name, status and message, with the key's text replaced, for messages the operator sees. */
function describeError(
  error: unknown,
  inputs: E2BucketInputs,
): { name: string; status?: number; detail: string } {
  const e = error as { name?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const status = e.$metadata?.httpStatusCode;
  let detail = `${e.name ?? "Error"}${status ? ` (HTTP ${status})` : ""}${e.message && e.message !== e.name ? `: ${e.message}` : ""}`;
  for (const secret of [inputs.secretAccessKey, inputs.accessKeyId]) {
    if (secret) detail = detail.split(secret).join("<redacted>");
  }
  return { name: e.name ?? "Error", status, detail };
}

async function headBucket(inputs: E2BucketInputs, timing: E2BucketTiming): Promise<HeadResult> {
  const { HeadBucketCommand } = s3Sdk();
  const client = s3Client(inputs, timing);
  try {
    await client.send(new HeadBucketCommand({ Bucket: inputs.bucket }));
    return { state: "exists" };
  } catch (error) {
    const { name, status, detail } = describeError(error, inputs);
    // HEAD responses carry no body: S3 clients see only the status (404 → NotFound).
    if (status === 404 || name === "NotFound" || name === "NoSuchBucket") return { state: "absent" };
    return { state: "error", status, detail };
  } finally {
    client.destroy();
  }
}

function where(inputs: E2BucketInputs): string {
  return `bucket "${inputs.bucket}" on ${inputs.endpoint}`;
}

/** What a 403 on HeadBucket can mean besides another account's bucket: the key's side. */
const KEY_CAUSES =
  "the e2 key is limited to other buckets in the e2 console, or its key ID or secret is wrong (e2AccessKeyId, e2SecretAccessKey)";

/** What ListBuckets, asked after a 403 on HeadBucket, says about the key and the name. */
type ForbiddenCause = "other-account" | "key-limited" | "key-wrong" | "unknown";

/**
 * HeadBucket answered 403 (HEAD responses carry no error code). ListBuckets with the same key tells the likely
 * causes apart: it fails with InvalidAccessKeyId or SignatureDoesNotMatch when the key itself is wrong, and it
 * lists the account's buckets when the key works; a name the account does not hold is then another account's
 * (e2 bucket names are shared by all accounts). Anything else (e.g. a key refused ListBuckets) stays unknown.
 */
async function forbiddenCause(inputs: E2BucketInputs, timing: E2BucketTiming): Promise<ForbiddenCause> {
  const { ListBucketsCommand } = s3Sdk();
  const client = s3Client(inputs, timing);
  try {
    const listed = (await client.send(new ListBucketsCommand({}))) as { Buckets?: { Name?: string }[] };
    return (listed.Buckets ?? []).some((b) => b.Name === inputs.bucket) ? "key-limited" : "other-account";
  } catch (error) {
    const { name } = describeError(error, inputs);
    return name === "InvalidAccessKeyId" || name === "SignatureDoesNotMatch" ? "key-wrong" : "unknown";
  } finally {
    client.destroy();
  }
}

/**
 * The message for a 403 on HeadBucket before the bucket is created. It leads with the likeliest cause on a
 * first run, a name another e2 account holds, unless ListBuckets showed the key to be the problem.
 */
function forbiddenBeforeCreate(
  inputs: E2BucketInputs,
  result: { detail: string },
  cause: ForbiddenCause,
): Error {
  const checked = `Could not check ${where(inputs)}: ${result.detail}.`;
  if (cause === "key-wrong") {
    return new Error(
      `${checked} The e2 key ID or secret is wrong: e2 refused the key itself (ListBuckets: InvalidAccessKeyId or ` +
        `SignatureDoesNotMatch). Set e2AccessKeyId and e2SecretAccessKey again with \`pulumi config set --secret\`.`,
    );
  }
  if (cause === "key-limited") {
    return new Error(
      `${checked} The bucket is this account's (ListBuckets lists it), but the e2 key may not use it: it is limited ` +
        `to other buckets in the e2 console. Give the key access to this bucket, or use another key.`,
    );
  }
  const seen =
    cause === "other-account" ? " (the key works, and this account has no bucket of that name)" : "";
  return new Error(
    `${checked} The name is probably owned by another e2 account${seen}: choose another name (config key ` +
      `"bucket"; names are shared by all e2 accounts, so common words are taken; a form such as ` +
      `media-<first label of your domain> is more likely to be free), then run \`pulumi up\` again. ` +
      `Otherwise ${KEY_CAUSES}.`,
  );
}

/** HeadBucket failed for another reason than absence: say what the status usually means on e2. */
function headError(inputs: E2BucketInputs, result: { status?: number; detail: string }): Error {
  const hint =
    result.status === 403
      ? ` The e2 key may not use this bucket: ${KEY_CAUSES}, or the bucket belongs to another account.`
      : result.status === 400 || result.status === 301
        ? " The endpoint may be in another region than the bucket, or the region setting may be wrong."
        : result.status === undefined
          ? " The endpoint did not answer in time or refused the connection: check e2Endpoint."
          : "";
  return new Error(`Could not check ${where(inputs)}: ${result.detail}.${hint}`);
}

function existsError(inputs: E2BucketInputs): Error {
  return new Error(
    `${where(inputs)} already exists and this stack did not create it. To manage it (keeping its media), run ` +
      `\`pulumi config set --path 'adopt.bucket' true\` (or add "bucket": true to the adopt setting), then ` +
      `\`pulumi up\` again; to start afresh, choose another bucket name.`,
  );
}

/**
 * What to tell the operator when CreateBucket fails. The SDK's error is not attached as `cause`: only its
 * scrubbed description leaves the provider.
 */
export function explainCreateBucketError(error: unknown, inputs: E2BucketInputs): Error {
  const { name, detail } = describeError(error, inputs);
  if (name === "BucketAlreadyOwnedByYou") return existsError(inputs);
  if (name === "BucketAlreadyExists") {
    return new Error(
      `${where(inputs)} is taken by another account (${detail}). Choose another bucket name (config key "bucket").`,
    );
  }
  if (/location/i.test(`${name} ${detail}`)) {
    return new Error(
      `e2 refused to create ${where(inputs)} because of its location constraint (${detail}). Create the bucket in ` +
        `the e2 console in the region of ${inputs.endpoint}, then set adopt.bucket to true and run \`pulumi up\` again.`,
    );
  }
  return new Error(
    `Could not create ${where(inputs)}: ${detail}. The e2 key needs permission to create buckets; ` +
      `or create the bucket in the e2 console and set adopt.bucket to true.`,
  );
}

async function createOrAdopt(inputs: E2BucketInputs, timing: E2BucketTiming): Promise<E2BucketOutputs> {
  const head = await headBucket(inputs, timing);
  if (head.state === "error" && head.status === 403)
    throw forbiddenBeforeCreate(inputs, head, await forbiddenCause(inputs, timing));
  if (head.state === "error") throw headError(inputs, head);
  if (head.state === "exists") {
    if (!inputs.adopt) throw existsError(inputs);
    return { ...inputs, created: false };
  }
  if (inputs.adopt) {
    throw new Error(
      `adopt.bucket is true but ${where(inputs)} does not exist (HeadBucket: 404). Check the bucket name and ` +
        `e2Endpoint (the bucket's region), or set adopt.bucket to false to let the program create it.`,
    );
  }
  const { CreateBucketCommand } = s3Sdk();
  const client = s3Client(inputs, timing);
  // The SDK adds LocationConstraint = the client's region to every CreateBucket outside us-east-1 (its
  // locationConstraintMiddleware, "initialize" step); this runs after it in that step and takes it out again.
  client.middlewareStack.add(
    (next) => async (args) => {
      delete (args.input as { CreateBucketConfiguration?: unknown }).CreateBucketConfiguration;
      return next(args);
    },
    { step: "initialize", priority: "low", name: "mastodonMediaNoLocationConstraint" },
  );
  try {
    await client.send(new CreateBucketCommand({ Bucket: inputs.bucket }));
  } catch (error) {
    throw explainCreateBucketError(error, inputs);
  } finally {
    client.destroy();
  }
  return { ...inputs, created: true };
}

/** Drops `__provider` and undefined fields. */
function plain<T extends object>(value: WithProvider<T>): T {
  const { __provider: _provider, ...rest } = value;
  return Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as T;
}

/**
 * Builds the provider with the given time-outs. Tests use shorter ones; the program uses
 * {@link e2BucketProvider}. Whatever `timing` holds is stored in plain text with the provider.
 */
export function makeE2BucketProvider(
  timing: E2BucketTiming,
): pulumi.dynamic.ResourceProvider<WithProvider<E2BucketInputs>, WithProvider<E2BucketOutputs>> {
  return {
    async check(_olds, news) {
      return { inputs: { ...news, adopt: news.adopt ?? false }, failures: validateBucketInputs(news) };
    },

    // Only real inputs decide; `__provider` is ignored, so re-serialized provider code never causes an update.
    // Another name or endpoint is another bucket: a replacement, which the component's `protect` refuses.
    // `adopt` only matters at creation.
    async diff(_id, olds, news) {
      const changed = (name: string) =>
        (olds as unknown as Record<string, unknown>)[name] !==
        (news as unknown as Record<string, unknown>)[name];
      const replaces = IDENTITY_INPUTS.filter(changed);
      const updates = OTHER_INPUTS.filter(changed);
      return {
        changes: replaces.length + updates.length > 0,
        replaces: [...replaces],
        deleteBeforeReplace: false,
      };
    },

    async create(inputs) {
      const outs = await createOrAdopt(plain(inputs), timing);
      return { id: inputs.bucket, outs } satisfies pulumi.dynamic.CreateResult<E2BucketOutputs>;
    },

    // New key or region: check that the bucket is reachable with them, change nothing on e2.
    async update(_id, olds, news) {
      const inputs = plain(news);
      const head = await headBucket(inputs, timing);
      if (head.state === "error") throw headError(inputs, head);
      if (head.state === "absent") {
        throw new Error(
          `${where(inputs)} no longer exists. Run \`pulumi refresh\`, then \`pulumi up\` to create it again.`,
        );
      }
      return {
        outs: { ...inputs, created: olds.created ?? false },
      } satisfies pulumi.dynamic.UpdateResult<E2BucketOutputs>;
    },

    // Refresh: a bucket that is gone leaves the state (the next `pulumi up` creates it again); any other
    // failure is an error, so a network problem never drops the bucket from state.
    async read(id, props) {
      if (!props || typeof props.bucket !== "string") {
        throw new Error(
          `Cannot read bucket "${id}": no recorded properties. Importing this resource type is not supported; ` +
            `use the adopt.bucket setting instead.`,
        );
      }
      const state = plain(props);
      const head = await headBucket(state, timing);
      if (head.state === "error") throw headError(state, head);
      if (head.state === "absent") return {};
      return { id, props: state } satisfies pulumi.dynamic.ReadResult<E2BucketOutputs>;
    },

    // Never deletes: the bucket holds every media file of the instance.
    async delete(id, props) {
      process.stderr.write(
        `mastodon-media: left bucket "${id}" on ${props?.endpoint ?? "its e2 endpoint"} in place with all its ` +
          `objects; this program never deletes the bucket. Delete it in the e2 console if you really mean to.\n`,
      );
    },
  };
}

/** The provider the program uses, with the default time-outs. */
export const e2BucketProvider = makeE2BucketProvider(DEFAULT_E2_BUCKET_TIMING);

/** The media bucket, created or adopted through HeadBucket/CreateBucket only, and never deleted by Pulumi. */
export class E2BucketResource extends pulumi.dynamic.Resource {
  declare public readonly bucket: pulumi.Output<string>;
  declare public readonly endpoint: pulumi.Output<string>;
  declare public readonly region: pulumi.Output<string>;
  declare public readonly accessKeyId: pulumi.Output<string>;
  declare public readonly secretAccessKey: pulumi.Output<string>;
  declare public readonly adopt: pulumi.Output<boolean>;
  declare public readonly created: pulumi.Output<boolean>;

  constructor(name: string, args: E2BucketResourceArgs, opts?: pulumi.CustomResourceOptions) {
    // Values known now are judged now, before anything is registered; Outputs wait for `check`.
    const now = (value: unknown) =>
      typeof value === "string" || typeof value === "boolean"
        ? value
        : value === undefined
          ? undefined
          : UNKNOWN;
    const failures = validateBucketInputs({
      bucket: now(args.bucket),
      endpoint: now(args.endpoint),
      region: now(args.region),
      accessKeyId: now(args.accessKeyId),
      secretAccessKey: now(args.secretAccessKey),
      adopt: now(args.adopt),
    });
    if (failures.length > 0) {
      throw new pulumi.InputPropertiesError({
        message: `${name}: invalid E2 bucket arguments: ${failures.map((f) => f.reason).join("; ")}`,
        errors: failures.map((f) => ({ propertyPath: f.property, reason: f.reason })),
      });
    }
    super(
      e2BucketProvider,
      name,
      {
        bucket: args.bucket,
        endpoint: args.endpoint,
        region: args.region,
        accessKeyId: pulumi.secret(args.accessKeyId),
        secretAccessKey: pulumi.secret(args.secretAccessKey),
        adopt: args.adopt ?? false,
        created: undefined,
      },
      // The host returns the key as plain outputs; this marks them secret again in state and in the program.
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ["accessKeyId", "secretAccessKey"] }),
      E2_BUCKET_MODULE,
      E2_BUCKET_TYPE_NAME,
    );
  }
}
