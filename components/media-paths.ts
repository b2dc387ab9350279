// The one definition of which object keys in the bucket readers may fetch anonymously. The bucket policy, the
// CrossGuard pack, the media check's probe and the Cloudflare rules all read it from here.
//
// Derived from Mastodon's source (mastodon/mastodon, main as stored in November 2026, 4.5/4.6 line; read file
// by file, the repository being too large to fetch whole here):
// - config/initializers/paperclip.rb: S3 keys are `:prefix_url:class/:attachment/:id_partition/:style/:filename`,
//   where `:prefix_url` is `cache/` when the attachment's storage schema version is 1 or more and the record
//   answers `local?` with false (remote accounts' media, remote custom emoji, every preview card), and empty
//   otherwise (local media, and files stored before schema version 1). Nothing in that file prefixes keys
//   further (no S3_KEY_PREFIX there).
// - app/models/concerns/account/avatar.rb, account/header.rb: Account `has_attached_file :avatar` / `:header`
//   (`local?` → `cache/` for remote accounts).
// - app/models/media_attachment.rb: `has_attached_file :file` and `:thumbnail` (remote → `cache/`).
// - app/models/custom_emoji.rb: `has_attached_file :image` (remote emoji → `cache/`).
// - app/models/preview_card.rb: `has_attached_file :image`, and `local?` is always false: cards stored with
//   schema version 1 and later are under `cache/preview_cards/images/`, older ones under `preview_cards/images/`.
// - app/models/site_upload.rb: `has_attached_file :file` (instance thumbnail, mascot, favicons, app icons).
// - app/models/preview_card_provider.rb: `has_attached_file :icon` (the favicon of a trending link's site). The
//   model has no `local?`, so its keys never take `cache/`: `preview_card_providers/icons/…` only.
// Private, never listed here: app/models/backup.rb `has_attached_file :dump, s3_permissions: … 'private'` (users'
// data archives, `backups/dumps/…`, handed out only through expiring signed links on the S3 endpoint) and the
// legacy app/models/import.rb `has_attached_file :data` (`imports/data/…`, uploaded CSVs of follows, blocks…).
// Mastodon's newer BulkImport keeps no file in the bucket.
// Every `has_attached_file` read, with the file and commit it was read at, is kept in
// tests/fixtures/mastodon-attachments.json; a test keeps this list equal to that fixture's public prefixes.

/** Key prefixes (no leading slash, each ending in "/") of the media Mastodon serves to readers through S3_ALIAS_HOST. */
export const PUBLIC_MEDIA_PREFIXES: readonly string[] = Object.freeze([
  "accounts/avatars/",
  "accounts/headers/",
  "media_attachments/files/",
  "media_attachments/thumbnails/",
  "custom_emojis/images/",
  "preview_cards/images/",
  "site_uploads/files/",
  "preview_card_providers/icons/",
  "cache/accounts/avatars/",
  "cache/accounts/headers/",
  "cache/media_attachments/files/",
  "cache/media_attachments/thumbnails/",
  "cache/custom_emojis/images/",
  "cache/preview_cards/images/",
]);

/** Where the media check writes, reads and deletes its probe object; public on purpose so readers' path is tested. */
export const PROBE_PREFIX = "_probe/";

/** Every prefix anonymous readers may GET under: Mastodon's public media plus the probe. */
export const PUBLICLY_READABLE_PREFIXES: readonly string[] = Object.freeze([
  ...PUBLIC_MEDIA_PREFIXES,
  PROBE_PREFIX,
]);

/** Prefixes Mastodon writes that must stay private (documentation and tests; the policy simply omits them). */
export const PRIVATE_PREFIXES: readonly string[] = Object.freeze(["backups/", "imports/"]);

/** Whether anonymous readers may fetch the object `key` (no leading slash) under the bucket policy. */
export function isPubliclyReadable(key: string): boolean {
  return PUBLICLY_READABLE_PREFIXES.some((prefix) => key.startsWith(prefix) && key.length > prefix.length);
}
