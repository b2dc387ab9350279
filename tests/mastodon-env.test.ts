import { test } from "node:test";
import * as assert from "node:assert/strict";
import { quoteEnvValue, renderMastodonEnv } from "../components/mastodon-env";

const values = {
  bucket: "files",
  region: "eu-central-2",
  endpointHost: "s3.eu-central-2.idrivee2.com",
  mediaHost: "files.example.social",
  accessKeyId: "KEYID",
  secretAccessKey: "abc/def+ghi",
};

test("the env block lists Mastodon's S3 settings in order, one per line", () => {
  assert.equal(
    renderMastodonEnv(values),
    [
      "S3_ENABLED=true",
      "S3_PROTOCOL=https",
      "S3_BUCKET=files",
      "S3_REGION=eu-central-2",
      "S3_ENDPOINT=https://s3.eu-central-2.idrivee2.com",
      "S3_HOSTNAME=s3.eu-central-2.idrivee2.com",
      "S3_ALIAS_HOST=files.example.social",
      "S3_PERMISSION=",
      "AWS_ACCESS_KEY_ID=KEYID",
      "AWS_SECRET_ACCESS_KEY=abc/def+ghi",
      "AWS_REQUEST_CHECKSUM_CALCULATION=WHEN_REQUIRED",
      "AWS_RESPONSE_CHECKSUM_VALIDATION=WHEN_REQUIRED",
      "",
    ].join("\n"),
  );
});

test("extra variables follow the managed ones in the order given", () => {
  const block = renderMastodonEnv({
    ...values,
    extra: { S3_FORCE_SINGLE_REQUEST: "true", S3_READ_TIMEOUT: "30" },
  });
  assert.ok(
    block.endsWith(
      "AWS_RESPONSE_CHECKSUM_VALIDATION=WHEN_REQUIRED\nS3_FORCE_SINGLE_REQUEST=true\nS3_READ_TIMEOUT=30\n",
    ),
  );
});

test("values with spaces, # or $ are single-quoted, which dotenv reads literally", () => {
  assert.equal(quoteEnvValue("a b"), "'a b'");
  assert.equal(quoteEnvValue("x#y"), "'x#y'");
  assert.equal(quoteEnvValue("$HOME"), "'$HOME'");
});

test("a value holding a single quote is double-quoted with escapes", () => {
  assert.equal(quoteEnvValue(`it's "$x"`), `"it's \\"\\$x\\""`);
});

test("plain values and the empty ACL stay unquoted", () => {
  assert.equal(quoteEnvValue("s3.eu-central-2.idrivee2.com"), "s3.eu-central-2.idrivee2.com");
  assert.equal(quoteEnvValue(""), "");
});
