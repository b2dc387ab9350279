// Mastodon's multipart upload, made with the key Mastodon gets, run as its own Command (components/
// media-check.ts) so that it runs only when that key, the endpoint, the bucket or the threshold changed:
//   node --import tsx runtime/multipart-check.ts        (from the project root; inputs from the environment)
// Uploads one object a byte above S3_MULTIPART_THRESHOLD, split as Mastodon's SDK splits it (parts of
// max(size / 10000, 5 MiB), aws-sdk-s3 multipart_file_uploader.rb), with Mastodon's headers and CRC32 part
// checksums; checks its size with HeadObject; removes it with a DeleteObjects batch as Mastodon deletes media
// and checks it is gone; and always deletes it once more with DeleteObject (gone already is fine).
//
// Cost: threshold + 1 bytes uploaded per run (15 MiB + 1 byte in 4 parts with Mastodon's default), sent one
// part after the other. Measured on Ceph RGW on loopback: a 5 MiB + 1 byte probe (2 parts, HeadObject, batch
// delete, cleanup) took 2.7-2.8 s by its own clock (two runs, 2 cores at load average ~50).
//
// Inputs (environment only): E2_ENDPOINT, S3_BUCKET, S3_REGION, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (the
// key Mastodon gets, the same variables Mastodon reads), MEDIA_CHECK_KEY_SETTING (`mastodonAccessKeyId` when
// that is Mastodon's own key, `e2AccessKeyId` when Mastodon shares the program's: failures name it),
// S3_MULTIPART_THRESHOLD (bytes; default Mastodon's 15 MiB), MASTODON_S3_PERMISSION (default empty: no ACL),
// MEDIA_CHECK_REQUEST_TIMEOUT_SECONDS (per call; a part of 5 MiB needs time on a slow link). For tests:
// MEDIA_CHECK_CONNECT_TO as in runtime/media-check.ts.
import { randomBytes } from "node:crypto";
import { batchDelete } from "./mastodon-batch-delete";
import { failureOf, probeStore } from "./media-check-s3";
import {
  InputError,
  MASTODON_CACHE_CONTROL,
  MASTODON_KEY,
  PROGRAM_KEY,
  firstFailure,
  formatVerdict,
  judgeMastodonCall,
  judgeS3,
  multipartProbeShape,
  parseInputs,
  probeKeys,
  redactor,
  type S3Target,
  type Verdict,
} from "./media-checks";

const signatures = new Set<string>();
let redact: (text: string) => string = (t) => t;
const say = (line: string): void => void process.stdout.write(`${redact(line)}\n`);
const complain = (line: string): void => void process.stderr.write(`${redact(line)}\n`);

async function main(): Promise<number> {
  let inputs;
  const setting = process.env["MEDIA_CHECK_KEY_SETTING"] ?? MASTODON_KEY.keyId;
  try {
    inputs = parseInputs(process.env, { needsMediaHost: false });
    if (setting !== MASTODON_KEY.keyId && setting !== PROGRAM_KEY.keyId) {
      throw new InputError([
        `MEDIA_CHECK_KEY_SETTING must be ${MASTODON_KEY.keyId} or ${PROGRAM_KEY.keyId} (got ${JSON.stringify(setting)})`,
      ]);
    }
  } catch (e) {
    complain(`multipart probe: ${e instanceof InputError ? e.message : String(e)}`);
    return 2;
  }
  const keySettings = setting === PROGRAM_KEY.keyId ? PROGRAM_KEY : MASTODON_KEY;
  redact = redactor(() => [inputs.secretAccessKey, inputs.accessKeyId, ...signatures]);
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      complain(`multipart probe: ${signal}, cleaning up`);
      stop.abort();
    });
  }

  const key = probeKeys(randomBytes(16).toString("hex")).multipart;
  const { size, partSize } = multipartProbeShape(inputs.multipartThresholdBytes);
  const parts = Math.ceil(size / partSize);
  const target: S3Target = { bucket: inputs.bucket, endpoint: inputs.e2Endpoint };
  const started = Date.now();
  const elapsed = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  say(
    `multipart probe: ${size} bytes in ${parts} parts of up to ${partSize} to bucket ${inputs.bucket} on ${inputs.e2Endpoint} with ${keySettings.keyId} (S3_MULTIPART_THRESHOLD ${inputs.multipartThresholdBytes})`,
  );

  const store = probeStore(inputs, inputs, signatures);
  const verdicts: Verdict[] = [];
  try {
    const uploaded = await store.multipart(
      key,
      {
        size,
        partSize,
        headers: {
          cacheControl: MASTODON_CACHE_CONTROL,
          contentType: "application/octet-stream",
          acl: inputs.mastodonPermission,
        },
      },
      stop.signal,
    );
    let verdict = judgeMastodonCall(
      "mastodon-multipart",
      keySettings,
      "multipart",
      target,
      failureOf(uploaded),
      inputs.multipartThresholdBytes,
    );
    if (verdict.ok) {
      // The upload completed: the object must have every byte of every part.
      const stored = await store.size(key, stop.signal);
      if (!stored.ok) verdict = judgeS3("mastodon-multipart", keySettings, "read", target, stored.failure);
      else if (stored.value !== size) {
        verdict = {
          check: "mastodon-multipart",
          ok: false,
          retryable: false,
          reason: `CompleteMultipartUpload answered without error, but HeadObject finds ${stored.value ?? "no"} bytes instead of ${size}: e2 joined the parts wrongly; set S3_MULTIPART_THRESHOLD in mastodonEnvExtra above the largest file your instance accepts`,
        };
      }
    }
    verdicts.push(verdict);
    if (verdict.ok && !stop.signal.aborted) {
      verdicts.push(
        await batchDelete("mastodon-batch-delete", inputs, store, keySettings, [key], stop.signal),
      );
    }
  } finally {
    // Never leave threshold-sized probes behind: a plain DeleteObject whatever happened (not cancellable).
    const r = await store.delete(key);
    const cleanup = judgeS3("cleanup", keySettings, "delete", target, failureOf(r));
    verdicts.push(cleanup.ok ? cleanup : { ...cleanup, reason: `${cleanup.reason} (left behind: ${key})` });
    store.close();
  }

  for (const v of verdicts) say(formatVerdict(v));
  const failed = firstFailure(verdicts);
  if (failed) {
    complain(
      `multipart probe failed at ${failed.check} after ${elapsed()}: ${failed.reason}` +
        (stop.signal.aborted ? " (cancelled)" : ""),
    );
    return 1;
  }
  say(
    `multipart probe passed after ${elapsed()}: ${keySettings.keyId} uploads in parts and batch-deletes in bucket ${inputs.bucket}`,
  );
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    complain(
      `multipart probe: internal error: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`,
    );
    process.exitCode = 3;
  },
);
