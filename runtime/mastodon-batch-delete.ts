// Mastodon's way of deleting media, made by the media check and the multipart probe alike: one DeleteObjects
// batch (app/lib/attachment_batch.rb), then HeadObject to see the objects are really gone.
import {
  judgeBatchDeleted,
  judgeMastodonCall,
  type CheckName,
  type KeySettings,
  type MediaCheckInputs,
  type S3Target,
  type Verdict,
} from "./media-checks";
import { failureOf, type ProbeStore } from "./media-check-s3";

/** DeleteObjects of `keys` with the key Mastodon gets, judged; then each key must be gone. */
export async function batchDelete(
  check: CheckName,
  inputs: MediaCheckInputs,
  store: ProbeStore,
  key: KeySettings,
  keys: string[],
  cancel?: AbortSignal,
): Promise<Verdict> {
  const target: S3Target = { bucket: inputs.bucket, endpoint: inputs.e2Endpoint };
  const deleted = await store.deleteBatch(keys, cancel);
  const verdict = judgeMastodonCall(
    check,
    key,
    "batch-delete",
    target,
    failureOf(deleted),
    inputs.multipartThresholdBytes,
  );
  if (!verdict.ok) return verdict;
  for (const k of keys) {
    const left = await store.size(k, cancel);
    const gone = judgeBatchDeleted(check, key, target, left.ok ? { size: left.value } : left.failure);
    if (!gone.ok) return gone;
  }
  return verdict;
}
