// Where Mastodon keeps public media in the bucket, as key prefixes.
//
// PLACEHOLDER for branch issue-10 only: the real file is written on branch issue-9a (the bucket issue), which
// derives the list from Mastodon's models. This copy has the same exports so the edge rules can be built
// against them; when merging, take issue-9a's file.
//
// Paperclip stores attachments at `[cache/]<class>/<attachment>/<id_partition>/<style>/<file>`, with `cache/`
// for media of remote accounts (config/initializers/paperclip.rb).

/** Key prefixes (no leading slash, each ending in "/") of media anyone may read. */
export const PUBLIC_MEDIA_PREFIXES: readonly string[] = [
  "accounts/avatars/",
  "accounts/headers/",
  "media_attachments/files/",
  "media_attachments/thumbnails/",
  "custom_emojis/images/",
  "preview_cards/images/",
  "site_uploads/files/",
  "cache/accounts/avatars/",
  "cache/accounts/headers/",
  "cache/media_attachments/files/",
  "cache/media_attachments/thumbnails/",
  "cache/custom_emojis/images/",
];

/** Prefix of the objects the media check writes and deletes. */
export const PROBE_PREFIX = "_probe/";
