// The media check end to end against a real S3 server: the checker (runtime/media-check.ts) runs as the
// Command runs it, writes and deletes with keys Ceph RGW really checks (SigV4, user and subuser permissions),
// sends its unsigned listing, PUT, DELETE and backups/ read straight to RGW's endpoint path-style (as anyone
// can to e2's), and reads through a loopback stand-in for Cloudflare that applies the program's `methods`
// block rule and forwards what it lets through, anonymously and with the reader's Host, to RGW, which maps
// `<bucket>.example.test` to the bucket as e2's custom domain does and really evaluates the bucket policy. The
// stand-in only adds what the edge adds (block rule, cf-ray, CORS) or breaks the edge on demand (certificate,
// headers, 5xx, silence).
// What this cannot show: e2's and Cloudflare's own answers (RGW differs from e2 in details, FACTS.md); the
// docs/live-run-checklist.md covers those. Faults RGW cannot produce: media-check-fake-e2.test.ts.
import { after, before, suite, test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateBucketCommand,
  ListObjectsV2Command,
  PutBucketAclCommand,
  PutBucketPolicyCommand,
  PutObjectCommand,
  S3Client,
} from "@aws-sdk/client-s3";
import { publicReadPolicy, type PolicyDocument } from "../components/bucket-policy";
import { MAX_TIMEOUT_SECONDS } from "../components/media-check-limits";
import { DEFAULT_REQUEST_TIMEOUT_SECONDS } from "../runtime/media-check-inputs";
import { PRIVATE_PREFIXES, PROBE_PREFIX, PUBLIC_MEDIA_PREFIXES } from "../components/media-paths";
import { cephRgwSkipReason, startCephRgw, type CephRgw, type S3Key } from "./support/ceph-rgw";
import {
  makePki,
  s3Origin,
  startFakeMediaHost,
  type MediaBehaviour,
  type TestPki,
} from "./support/fake-media-host";
import {
  assertFailedAt,
  assertNothingSecretPrinted,
  probeKeyOf,
  runCheck,
  verdictLines,
} from "./support/media-check-run";
import { HANG_LIMIT_MS } from "./support/hang-limit";
import type { ChildProcess } from "node:child_process";

const skip = cephRgwSkipReason();
/** RGW's `rgw dns name`: the media host `<bucket>.example.test` is served from bucket `<bucket>`. */
const DNS_NAME = "example.test";
const WRONG_HOST = "other.invalid";
const REGION = "eu-central-2";
const OWNER = "media-owner";

let rgw: CephRgw;
let pki: TestPki;
let caFile: string;
let admin: S3Client;
/** The program's key (bucket owner), Mastodon's read-write key and a read-only key of the same owner. */
let programKey: S3Key;
let mastodonKey: S3Key;
let readOnlyKey: S3Key;
const secrets = (): string[] =>
  [programKey, mastodonKey, readOnlyKey].flatMap((k) => [k.accessKeyId, k.secretAccessKey]);

/** How a scenario's bucket is set up: the program's policy unless said otherwise. */
interface BucketSetup {
  /** A policy for the bucket's name; default the program's own (publicReadPolicy). */
  policy?: ((bucketName: string) => PolicyDocument) | "none";
  acl?: "public-read-write";
}

let bucketCount = 0;
/** A new bucket per scenario, so scenarios run side by side without seeing each other's probes. */
async function bucket(setup: BucketSetup = {}): Promise<string> {
  const name = `files-${++bucketCount}-${randomBytes(3).toString("hex")}`;
  await admin.send(new CreateBucketCommand({ Bucket: name }));
  const policy = setup.policy ?? publicReadPolicy;
  if (policy !== "none") {
    await admin.send(new PutBucketPolicyCommand({ Bucket: name, Policy: JSON.stringify(policy(name)) }));
  }
  if (setup.acl) await admin.send(new PutBucketAclCommand({ Bucket: name, ACL: setup.acl }));
  return name;
}

/** Probes left in the bucket (under _probe/ and the backups/ probe prefix). */
async function probesLeft(name: string): Promise<string[]> {
  const left: string[] = [];
  for (const Prefix of ["_probe/", "backups/_mastodon-media-probe-"]) {
    const listed = await admin.send(new ListObjectsV2Command({ Bucket: name, Prefix }));
    left.push(...(listed.Contents ?? []).map((o) => o.Key!));
  }
  return left;
}

interface Scenario {
  setup?: BucketSetup;
  behaviour?: MediaBehaviour;
  /** The media host presents a certificate for another name. */
  wrongCert?: boolean;
  /** The media host's first label, when it should not be the bucket's name. */
  hostLabel?: string;
  /** The program key as the checker is given it (default: the owner's real key). */
  programKey?: S3Key;
  /** Mastodon's key as the checker is given it (default: none, Mastodon shares the program's key). */
  mastodon?: S3Key;
  env?: Record<string, string>;
  onStdout?: (soFar: string, child: ChildProcess) => void;
  /** Objects put in the bucket before the check runs (a bucket that already holds users' media). */
  seed?: string[];
}

/** A bucket, the edge stand-in in front of it, one run of the checker; then what is left. */
async function scenario(s: Scenario = {}) {
  const name = await bucket(s.setup);
  for (const Key of s.seed ?? [])
    await admin.send(new PutObjectCommand({ Bucket: name, Key, Body: "media" }));
  // As in a real setup, the bucket's name is the media host's first label.
  const mediaHost = `${s.hostLabel ?? name}.${DNS_NAME}`;
  const media = await startFakeMediaHost({
    ...pki.leaf(s.wrongCert ? WRONG_HOST : `*.${DNS_NAME}`),
    host: mediaHost,
    origin: s3Origin({ url: rgw.httpsUrl, ca: rgw.caPem }),
    behaviour: s.behaviour,
  });
  try {
    const key = s.programKey ?? programKey;
    const run = await runCheck(
      {
        NODE_EXTRA_CA_CERTS: caFile,
        MEDIA_HOST: mediaHost,
        E2_ENDPOINT: rgw.endpointHost,
        S3_BUCKET: name,
        S3_REGION: REGION,
        AWS_ACCESS_KEY_ID: key.accessKeyId,
        AWS_SECRET_ACCESS_KEY: key.secretAccessKey,
        ...(s.mastodon
          ? {
              MASTODON_ACCESS_KEY_ID: s.mastodon.accessKeyId,
              MASTODON_SECRET_ACCESS_KEY: s.mastodon.secretAccessKey,
            }
          : {}),
        VERIFY_TIMEOUT_SECONDS: "1",
        MEDIA_CHECK_CONNECT_TO: `${mediaHost}=127.0.0.1:${media.port}`,
        ...s.env,
      },
      HANG_LIMIT_MS,
      s.onStdout,
    );
    assertNothingSecretPrinted(run, [...secrets(), key.secretAccessKey]);
    return { run, media, bucket: name, left: await probesLeft(name) };
  } finally {
    await media.close();
  }
}

/** The calls Mastodon makes, made with the key Mastodon gets. */
const MASTODON_OK = [
  "ok   mastodon-write",
  "ok   mastodon-read",
  "ok   mastodon-served",
  "ok   mastodon-batch-delete",
];

const EDGE_OK = [
  "ok   upload",
  "ok   e2-listing-refused",
  "ok   e2-put-refused",
  "ok   e2-delete-refused",
  "ok   e2-backups-private",
  "ok   tls",
  "ok   get",
  "ok   cf-ray",
  "ok   cors",
  "ok   edge-listing-refused",
  "ok   edge-put-refused",
  "ok   edge-delete-refused",
];

function mediaLog(media: { requests: { method: string; path: string; status: number }[] }): string[] {
  return media.requests.map((r) => `${r.method} ${r.path} ${r.status}`);
}

suite(
  skip
    ? `media check against Ceph RGW (skipped: ${skip})`
    : "media check against Ceph RGW behind the edge stand-in",
  { skip, concurrency: 6 },
  () => {
    before(async () => {
      pki = makePki([`*.${DNS_NAME}`, WRONG_HOST]);
      rgw = await startCephRgw({ dnsName: DNS_NAME });
      // One file for NODE_EXTRA_CA_CERTS: the edge stand-in's CA and RGW's.
      caFile = join(tmpdir(), `media-check-cas-${process.pid}-${randomBytes(4).toString("hex")}.pem`);
      writeFileSync(caFile, `${readFileSync(pki.caFile, "utf8")}\n${rgw.caPem}\n`);
      programKey = await rgw.createUser(OWNER);
      admin = new S3Client({
        endpoint: rgw.httpsUrl,
        // Not REGION: for any other region the SDK sends a LocationConstraint RGW's default zonegroup refuses.
        region: "us-east-1",
        forcePathStyle: true,
        credentials: programKey,
        maxAttempts: 1,
        requestHandler: { httpsAgent: new https.Agent({ ca: rgw.caPem }), requestTimeout: HANG_LIMIT_MS },
      });
      // Mastodon's key: another key of the bucket's owner (as e2 keys limited to a bucket are), read-write.
      mastodonKey = {
        accessKeyId: `MASTODON${randomBytes(6).toString("hex").toUpperCase()}`,
        secretAccessKey: randomBytes(20).toString("base64url"),
      };
      await rgw.admin(
        ["subuser", "create", "--uid", OWNER, "--subuser", `${OWNER}:mastodon`, "--access", "full"].concat([
          "--key-type",
          "s3",
          "--access-key",
          mastodonKey.accessKeyId,
          "--secret-key",
          mastodonKey.secretAccessKey,
        ]),
      );
      readOnlyKey = await rgw.createReadOnlyKey(OWNER, "readonly");
    });
    after(async () => {
      admin?.destroy();
      await rgw?.stop();
      pki?.dispose();
      if (caFile) rmSync(caFile, { force: true });
    });

    test("healthy media host passes every check; RGW refuses the anonymous listing, PUT, DELETE and backups/ read at its endpoint, the block rule at the edge; no probe is left", async () => {
      const { run, media, left } = await scenario();
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.deepEqual(verdictLines(run), [...EDGE_OK, ...MASTODON_OK, "ok   cleanup"]);
      assert.equal(run.stderr, "");
      assert.match(
        run.stdout,
        /^note mastodon-write, mastodon-read, mastodon-served, mastodon-batch-delete use the program's key: /m,
      );
      const key = probeKeyOf(run);
      assert.deepEqual(mediaLog(media), [
        `GET /${key} 200`,
        `GET / 403`,
        `PUT /${key} 403`,
        `DELETE /${key} 403`,
        `GET /${key.replace(/\.txt$/, "-mastodon.txt")} 200`,
      ]);
      assert.deepEqual(left, []);
    });

    test("with the methods rule off (the stand-in forwards everything to RGW), every check still passes on the program's private bucket", async () => {
      const { run, media, left } = await scenario({ behaviour: { noMethodsRule: true } });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.deepEqual(verdictLines(run), [...EDGE_OK, ...MASTODON_OK, "ok   cleanup"]);
      const key = probeKeyOf(run);
      assert.deepEqual(mediaLog(media).slice(0, 4), [
        `GET /${key} 200`,
        `GET / 403`,
        `PUT /${key} 403`,
        `DELETE /${key} 403`,
      ]);
      assert.deepEqual(left, []);
    });

    test("each run writes its probe under a new _probe/ key with a new token", async () => {
      const [a, b] = [await scenario(), await scenario()];
      for (const { run } of [a, b]) assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.notEqual(probeKeyOf(a.run), probeKeyOf(b.run));
    });

    test("with Mastodon's own key: it writes with Mastodon's headers, reads back signed, is served through the media host and batch-deletes its probe", async () => {
      const { run, media, left } = await scenario({ mastodon: mastodonKey });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.deepEqual(verdictLines(run), [...EDGE_OK, ...MASTODON_OK, "ok   cleanup"]);
      const mastodonProbe = probeKeyOf(run).replace(/\.txt$/, "-mastodon.txt");
      assert.ok(mediaLog(media).includes(`GET /${mastodonProbe} 200`), mediaLog(media).join("\n"));
      assert.match(
        run.stdout,
        /Mastodon's key writes with Mastodon's headers, reads and batch-deletes there$/m,
      );
      assert.deepEqual(left, []);
    });

    test("a Mastodon key without write access fails at mastodon-write naming mastodonAccessKeyId and AccessDenied, never the key, and no probe is left", async () => {
      const {
        run,
        bucket: name,
        left,
      } = await scenario({
        mastodon: readOnlyKey,
        env: { VERIFY_TIMEOUT_SECONDS: "30" },
      });
      assertFailedAt(run, "mastodon-write");
      assert.match(
        run.stdout,
        new RegExp(
          `^FAIL mastodon-write: mastodonAccessKeyId cannot write to bucket ${name}: AccessDenied — give the key read and write on this bucket$`,
          "m",
        ),
      );
      assert.match(run.stderr, /\(not reached: mastodon-read, mastodon-served, mastodon-batch-delete\)/);
      assert.doesNotMatch(run.stdout, /^wait mastodon-write/m, "a refused key must not be retried");
      assert.deepEqual(left, []);
    });

    test("a wrong Mastodon secret fails at mastodon-write naming mastodonSecretAccessKey and SignatureDoesNotMatch", async () => {
      const { run, left } = await scenario({
        mastodon: { accessKeyId: mastodonKey.accessKeyId, secretAccessKey: "not-the-secret-0123456789" },
      });
      assertFailedAt(run, "mastodon-write");
      assert.match(
        run.stdout,
        /^FAIL mastodon-write: mastodonAccessKeyId cannot write to bucket \S+: SignatureDoesNotMatch — mastodonSecretAccessKey is not the secret of mastodonAccessKeyId/m,
      );
      assert.doesNotMatch(run.stdout + run.stderr, /not-the-secret/);
      assert.deepEqual(left, []);
    });

    test("a Mastodon key ID RGW does not know fails at mastodon-write with InvalidAccessKeyId", async () => {
      const { run } = await scenario({
        mastodon: { accessKeyId: "NOSUCHKEY0000000000", secretAccessKey: mastodonKey.secretAccessKey },
      });
      assertFailedAt(run, "mastodon-write");
      assert.match(
        run.stdout,
        /^FAIL mastodon-write: mastodonAccessKeyId cannot write to bucket \S+: InvalidAccessKeyId — /m,
      );
    });

    test("a wrong program secret fails at upload naming e2SecretAccessKey, and never reaches the edge", async () => {
      const { run, media } = await scenario({
        programKey: { accessKeyId: programKey.accessKeyId, secretAccessKey: "wrong-program-secret-0000" },
        env: { VERIFY_TIMEOUT_SECONDS: "30" },
      });
      assertFailedAt(run, "upload");
      assert.match(
        run.stdout,
        /^FAIL upload: e2AccessKeyId cannot write to bucket \S+: SignatureDoesNotMatch — e2SecretAccessKey is not the secret of e2AccessKeyId/m,
      );
      assert.doesNotMatch(run.stdout, /^wait upload/m, "a refused key must not be retried");
      assert.equal(media.requests.length, 0);
    });

    // The check's own probes are random names it writes and deletes within the run, holding no user data: it
    // may print those. It never lists the bucket and never names anything else in it.
    test("in a bucket holding users' media the check prints only its own probe keys, passing or failing", async () => {
      const media = [
        ...PUBLIC_MEDIA_PREFIXES.map(
          (p) => `${p}000/000/001/original/u53rm3d1a${randomBytes(4).toString("hex")}.png`,
        ),
        `backups/dumps/000/000/001/original/archive-${randomBytes(4).toString("hex")}.zip`,
        `imports/data/000/000/001/original/follows-${randomBytes(4).toString("hex")}.csv`,
      ];
      const passing = await scenario({ seed: media, mastodon: mastodonKey });
      assert.equal(passing.run.code, 0, passing.run.stdout + passing.run.stderr);
      const failing = await scenario({ seed: media, setup: { policy: "none" } });
      assert.notEqual(failing.run.code, 0);
      for (const { run } of [passing, failing]) {
        const printed = run.stdout + run.stderr;
        for (const key of media) {
          assert.ok(!printed.includes(key), `${key} was printed`);
          assert.ok(!printed.includes(key.split("/").pop()!), `the file name of ${key} was printed`);
        }
        // Every key-shaped mention is one of the check's own probes.
        const mentions = [...PUBLIC_MEDIA_PREFIXES, ...PRIVATE_PREFIXES, PROBE_PREFIX].flatMap((prefix) =>
          [...printed.matchAll(new RegExp(`${prefix.replace(/[/]/g, "\\/")}\\S*`, "g"))].map((m) => m[0]),
        );
        assert.ok(mentions.length > 0, "the probe key is printed, so the search above can see keys");
        for (const mention of mentions)
          assert.match(
            mention,
            /^(_probe\/[0-9a-f]{16,64}(-mastodon)?\.txt|backups\/_mastodon-media-probe-[0-9a-f]{16,64})\b/,
            mention,
          );
      }
    });

    test("a bucket without the public-read policy fails at get with RGW's 403 AccessDenied after the time-out", async () => {
      const { run, left } = await scenario({ setup: { policy: "none" } });
      assert.ok(assertFailedAt(run, "get") >= 1.0, "gave up before the time-out");
      assert.match(run.stdout, /^FAIL get: expected HTTP 200 for the probe, got HTTP 403 \(AccessDenied/m);
      assert.deepEqual(left, []);
    });

    test("a media host whose first label is not the bucket's name fails at get with RGW's 404 NoSuchBucket", async () => {
      const { run, left } = await scenario({ hostLabel: "media" });
      assertFailedAt(run, "get");
      assert.match(run.stdout, /^FAIL get: expected HTTP 200 for the probe, got HTTP 404 \(NoSuchBucket/m);
      assert.deepEqual(left, []);
    });

    test("a bucket anyone may list (policy grants s3:ListBucket) fails at e2-listing-refused behind the block rule, without retrying", async () => {
      const listable = (name: string): PolicyDocument => ({
        ...publicReadPolicy(name),
        Statement: [
          ...publicReadPolicy(name).Statement,
          {
            Sid: "PublicList",
            Effect: "Allow",
            Principal: "*",
            Action: "s3:ListBucket",
            Resource: `arn:aws:s3:::${name}`,
          },
        ],
      });
      const { run, media, left } = await scenario({
        setup: { policy: listable },
        env: { VERIFY_TIMEOUT_SECONDS: "30" },
      });
      assertFailedAt(run, "e2-listing-refused");
      assert.match(
        run.stdout,
        /^FAIL e2-listing-refused: anonymous listing of https:\/\/127\.0\.0\.1:\d+\/files-\S+ answered HTTP 200 with the object list: anyone can list the bucket; make the bucket private in the e2 console/m,
      );
      assert.doesNotMatch(run.stdout, /^wait /m);
      // Stopped there: the edge (which would have blocked the listing) was never asked.
      assert.equal(media.requests.length, 0);
      assert.deepEqual(left, []);
    });

    test("a public-read-write bucket (e2's 'public') fails at e2-listing-refused even behind the block rule, and reports the anonymous PUT and DELETE RGW accepted", async () => {
      const { run, media, left } = await scenario({
        setup: { acl: "public-read-write" },
        env: { VERIFY_TIMEOUT_SECONDS: "30" },
      });
      assertFailedAt(run, "e2-listing-refused");
      assert.match(
        run.stdout,
        /^FAIL e2-put-refused: anonymous PUT of the probe at https:\/\/127\.0\.0\.1:\d+\/files-\S+\/ was accepted \(HTTP 200\): anyone can write to the bucket; make the bucket private in the e2 console \(not "public": that is read and write\)/m,
      );
      assert.match(
        run.stdout,
        /^FAIL e2-delete-refused: anonymous DELETE of the probe at \S+ was accepted \(HTTP 204\): anyone can delete from the bucket/m,
      );
      // Definitive: one pass only, although 30 s were allowed; the edge was never asked.
      assert.doesNotMatch(run.stdout, /^wait /m);
      assert.equal(media.requests.length, 0);
      assert.deepEqual(left, []);
    });

    test("the edge stand-in's block rule alone refuses PUT, DELETE and the listing of a public-read-write bucket (why the edge checks cannot judge the bucket)", async () => {
      const name = await bucket({ acl: "public-read-write" });
      const mediaHost = `${name}.${DNS_NAME}`;
      const key = `_probe/${randomBytes(8).toString("hex")}.txt`;
      for (const noMethodsRule of [false, true]) {
        const media = await startFakeMediaHost({
          ...pki.leaf(`*.${DNS_NAME}`),
          host: mediaHost,
          origin: s3Origin({ url: rgw.httpsUrl, ca: rgw.caPem }),
          behaviour: { noMethodsRule },
        });
        try {
          const ca = readFileSync(pki.caFile, "utf8");
          const ask = (method: string, path: string): Promise<number> =>
            new Promise((resolve, reject) => {
              const req = https.request(
                {
                  host: "127.0.0.1",
                  port: media.port,
                  method,
                  path,
                  ca,
                  servername: mediaHost,
                  agent: false,
                },
                (res) => {
                  res.resume();
                  res.on("end", () => resolve(res.statusCode ?? 0));
                },
              );
              req.setHeader("host", mediaHost);
              req.on("error", reject);
              req.end(method === "PUT" ? "x" : undefined);
            });
          const statuses = [
            await ask("GET", "/"),
            await ask("PUT", `/${key}`),
            await ask("DELETE", `/${key}`),
          ];
          // With the rule: the edge's 403 to all three. Without it: RGW itself lists, writes and deletes.
          assert.deepEqual(
            statuses,
            noMethodsRule ? [200, 200, 204] : [403, 403, 403],
            `noMethodsRule ${noMethodsRule}`,
          );
        } finally {
          await media.close();
        }
      }
    });

    test("a policy granting GetObject on <bucket>/* fails at e2-backups-private naming the over-broad policy, though the edge would block backups/", async () => {
      const wholeBucket = (name: string): PolicyDocument => ({
        Version: "2012-10-17",
        Statement: [
          {
            Sid: "PublicReadEverything",
            Effect: "Allow",
            Principal: "*",
            Action: "s3:GetObject",
            Resource: `arn:aws:s3:::${name}/*`,
          },
        ],
      });
      const {
        run,
        media,
        left,
        bucket: name,
      } = await scenario({
        setup: { policy: wholeBucket },
        env: { VERIFY_TIMEOUT_SECONDS: "30" },
      });
      assertFailedAt(run, "e2-backups-private");
      assert.match(
        run.stdout,
        new RegExp(
          `^FAIL e2-backups-private: anonymous GET of https://127\\.0\\.0\\.1:\\d+/${name}/backups/_mastodon-media-probe-[0-9a-f]{32} answered HTTP 200: anyone can download users' archives \\(backups/\\); the bucket policy grants more than Mastodon's public media prefixes \\(e\\.g\\. ${name}/\\*\\)`,
          "m",
        ),
      );
      assert.deepEqual(verdictLines(run).slice(0, 4), [
        "ok   upload",
        "ok   e2-listing-refused",
        "ok   e2-put-refused",
        "ok   e2-delete-refused",
      ]);
      assert.doesNotMatch(run.stdout, /^wait /m);
      assert.equal(media.requests.length, 0);
      assert.deepEqual(left, []);
    });

    test("a policy that lets anyone delete objects fails at e2-delete-refused", async () => {
      const deletable = (name: string): PolicyDocument => ({
        ...publicReadPolicy(name),
        Statement: [
          ...publicReadPolicy(name).Statement,
          {
            Sid: "PublicDelete",
            Effect: "Allow",
            Principal: "*",
            Action: "s3:DeleteObject",
            Resource: `arn:aws:s3:::${name}/*`,
          },
        ],
      });
      const { run, left } = await scenario({
        setup: { policy: deletable },
        env: { VERIFY_TIMEOUT_SECONDS: "30" },
      });
      assertFailedAt(run, "e2-delete-refused");
      assert.match(
        run.stdout,
        /^FAIL e2-delete-refused: anonymous DELETE of the probe at \S+ was accepted \(HTTP 204\)/m,
      );
      assert.deepEqual(left, []);
    });

    test("certificate for another name fails at tls, sends no HTTP request to the media host, and no probe is left", async () => {
      const { run, media, left } = await scenario({ wrongCert: true });
      assertFailedAt(run, "tls");
      assert.match(
        run.stdout,
        /FAIL tls: certificate not valid for the media host: ERR_TLS_CERT_ALTNAME_INVALID/,
      );
      assert.equal(media.requests.length, 0);
      assert.deepEqual(left, []);
    });

    test("missing Access-Control-Allow-Origin fails at cors after the time-out", async () => {
      const { run, left } = await scenario({ behaviour: { noCors: true } });
      assert.ok(assertFailedAt(run, "cors") >= 1.0, "gave up before the time-out");
      assert.deepEqual(left, []);
    });

    test("missing cf-ray fails at cf-ray after the time-out", async () => {
      const { run } = await scenario({ behaviour: { noCfRay: true } });
      assert.ok(assertFailedAt(run, "cf-ray") >= 1.0, "gave up before the time-out");
      assert.match(run.stdout, /did not come through Cloudflare/);
    });

    test("5xx answers at the edge for the first requests, then healthy, passes within the time-out", async () => {
      // The longest time-out the check accepts: a passing check ends when the edge turns healthy, so this
      // costs nothing, and a busy machine cannot push the healthy attempt past the deadline.
      const { run, media, left } = await scenario({
        behaviour: { failFirst: 5 },
        env: { VERIFY_TIMEOUT_SECONDS: String(MAX_TIMEOUT_SECONDS) },
      });
      assert.equal(run.code, 0, run.stdout + run.stderr);
      assert.match(run.stdout, /^wait get: expected HTTP 200 for the probe, got HTTP 502/m);
      assert.ok(media.requests.length > 4, "the healthy pass must come after retries");
      assert.deepEqual(left, []);
    });

    test("never-healthy media host fails at get after about VERIFY_TIMEOUT_SECONDS", async () => {
      const { run, media, left } = await scenario({
        behaviour: { alwaysFail: true },
        env: { VERIFY_TIMEOUT_SECONDS: "2" },
      });
      const seconds = assertFailedAt(run, "get");
      assert.ok(seconds >= 2.0, `gave up after ${seconds}s for a 2 s time-out`);
      assert.ok(media.requests.filter((r) => r.method === "GET").length >= 2);
      // Attempts no sooner than 0, 0.5 and 1.5 s, and a last one at the 2 s deadline, then none: counted
      // rather than timed, so a busy machine (which only makes attempts later, hence fewer) cannot fail it.
      const attempts = media.requests.filter((r) => r.method === "GET" && r.path !== "/").length;
      assert.ok(attempts >= 1 && attempts <= 4, `${attempts} attempts`);
      assert.deepEqual(left, []);
    });

    test("media host that never answers fails at get with a request time-out", async () => {
      // The program's request time-out (10 s), not a short one: it bounds the calls to RGW too, which answer,
      // only later on a busy machine. Only the media host's never-answered GET can reach it.
      const { run, left } = await scenario({
        behaviour: { hang: true },
        env: { VERIFY_TIMEOUT_SECONDS: "1" },
      });
      const seconds = assertFailedAt(run, "get");
      assert.match(
        run.stdout,
        new RegExp(`FAIL get: TIMEOUT: no answer within ${DEFAULT_REQUEST_TIMEOUT_SECONDS}s`),
      );
      assert.ok(seconds >= DEFAULT_REQUEST_TIMEOUT_SECONDS, `gave up after ${seconds}s`);
      assert.deepEqual(left, []);
    });

    test("SIGTERM while waiting to retry stops at once, still deletes the probe, and exits non-zero", async () => {
      let signalled = false;
      const { run, left } = await scenario({
        behaviour: { alwaysFail: true },
        env: { VERIFY_TIMEOUT_SECONDS: String(MAX_TIMEOUT_SECONDS) },
        onStdout: (soFar, child) => {
          if (!signalled && soFar.includes("\nwait get: ")) {
            signalled = true;
            child.kill("SIGTERM");
          }
        },
      });
      assert.ok(signalled, run.stdout);
      const seconds = assertFailedAt(run, "get");
      // Far short of its time-out (an hour): only stopping on the signal ends it before the hang limit.
      assert.ok(
        seconds < HANG_LIMIT_MS / 1000,
        `ran ${seconds}s of a ${MAX_TIMEOUT_SECONDS} s time-out after SIGTERM`,
      );
      assert.match(run.stderr, /media check: SIGTERM, cleaning up/);
      assert.match(run.stderr, /\(cancelled\)$/m);
      assert.deepEqual(left, []);
    });
  },
);
