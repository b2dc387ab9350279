// The public key prefixes: shape, and which of Mastodon's keys they let readers fetch.
import { test } from "node:test";
import * as assert from "node:assert/strict";
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
