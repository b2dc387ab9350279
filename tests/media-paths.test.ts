// The public key prefixes: shape, and which of Mastodon's keys they let readers fetch.
import { test } from "node:test";
import * as assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import {
  isPubliclyReadable,
  PRIVATE_PREFIXES,
  PROBE_PREFIX,
  PUBLIC_MEDIA_PREFIXES,
  PUBLICLY_READABLE_PREFIXES,
} from "../components/media-paths";

test("every public prefix is a relative key prefix ending in a slash, listed once", () => {
  for (const prefix of PUBLICLY_READABLE_PREFIXES) {
    assert.match(prefix, /^[a-z_]+(\/[a-z_]+)*\/$/, prefix);
  }
  assert.equal(new Set(PUBLICLY_READABLE_PREFIXES).size, PUBLICLY_READABLE_PREFIXES.length);
  assert.equal(PROBE_PREFIX, "_probe/");
  assert.ok(PUBLICLY_READABLE_PREFIXES.includes(PROBE_PREFIX));
  assert.ok(!PUBLIC_MEDIA_PREFIXES.includes(PROBE_PREFIX));
});

test("no public prefix covers a private one, nor the other way round", () => {
  for (const pub of PUBLICLY_READABLE_PREFIXES) {
    for (const priv of PRIVATE_PREFIXES) {
      assert.ok(!pub.startsWith(priv) && !priv.startsWith(pub), `${pub} overlaps ${priv}`);
    }
  }
});

test("the lists cannot be changed at run time", () => {
  assert.throws(() => (PUBLIC_MEDIA_PREFIXES as string[]).push("backups/"));
});

for (const key of [
  "media_attachments/files/110/123/456/original/abc.png",
  "media_attachments/thumbnails/110/123/456/small/abc.png",
  "cache/media_attachments/files/110/123/456/small/abc.webp",
  "accounts/avatars/000/000/001/original/a.png",
  "cache/accounts/headers/109/000/001/original/h.jpg",
  "custom_emojis/images/000/000/010/static/blobcat.png",
  "cache/custom_emojis/images/000/000/011/original/x.gif",
  "preview_cards/images/000/001/002/original/p.jpg",
  "cache/preview_cards/images/000/001/003/original/p.jpg",
  "site_uploads/files/000/000/001/@1x/thumb.png",
  "preview_card_providers/icons/000/000/001/static/favicon.png",
  "_probe/mastodon-media-check",
]) {
  test(`readers may fetch ${key}`, () => assert.equal(isPubliclyReadable(key), true));
}

for (const key of [
  "backups/dumps/000/000/001/original/archive-20261130.zip",
  "imports/data/000/000/002/original/following.csv",
  "cache/backups/dumps/1/original/a.zip",
  "media_attachments/files",
  "media_attachments/",
  "index.html",
  "/media_attachments/files/1/original/a.png",
]) {
  test(`readers may not fetch ${JSON.stringify(key)}`, () => assert.equal(isPubliclyReadable(key), false));
}

interface AttachmentEntry {
  class: string;
  attachment: string;
  keyPrefixes: string[];
  access: "public" | "private";
}
/** Every has_attached_file of the Mastodon version the fixture cites (tests/fixtures/mastodon-attachments.json). */
const MASTODON = JSON.parse(
  readFileSync(path.join(__dirname, "fixtures", "mastodon-attachments.json"), "utf8"),
) as { attachments: AttachmentEntry[] };

/** Paperclip's `:class/:attachment/` (ActiveSupport underscore + pluralize, for the names that occur). */
function paperclipPrefix(entry: AttachmentEntry): string {
  const snake = entry.class.replace(/(?<!^)([A-Z])/g, "_$1").toLowerCase();
  const plural = (word: string) => (word === "data" ? word : `${word}s`);
  return `${plural(snake)}/${plural(entry.attachment)}/`;
}

test("the fixture's key prefixes follow Paperclip's :class/:attachment/, with cache/ only as the remote copy", () => {
  assert.ok(MASTODON.attachments.length >= 10);
  for (const entry of MASTODON.attachments) {
    const own = paperclipPrefix(entry);
    assert.equal(entry.keyPrefixes[0], own, `${entry.class}.${entry.attachment}`);
    for (const extra of entry.keyPrefixes.slice(1)) assert.equal(extra, `cache/${own}`);
  }
});

test("the public prefix list is exactly the public attachments' key prefixes of the cited Mastodon version", () => {
  const fromMastodon = MASTODON.attachments
    .filter((a) => a.access === "public")
    .flatMap((a) => a.keyPrefixes);
  assert.deepEqual([...PUBLIC_MEDIA_PREFIXES].sort(), [...new Set(fromMastodon)].sort());
  assert.ok(PUBLIC_MEDIA_PREFIXES.includes("preview_card_providers/icons/"));
});

test("every private attachment of the cited Mastodon version is under a private prefix and under no public one", () => {
  const privateKeys = MASTODON.attachments
    .filter((a) => a.access === "private")
    .flatMap((a) => a.keyPrefixes);
  assert.ok(privateKeys.length > 0);
  for (const prefix of privateKeys) {
    assert.ok(
      PRIVATE_PREFIXES.some((p) => prefix.startsWith(p)),
      `${prefix} is not under a private prefix`,
    );
    assert.equal(isPubliclyReadable(`${prefix}000/000/001/original/x`), false, prefix);
  }
});
