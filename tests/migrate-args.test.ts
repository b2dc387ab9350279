// The migrate tool's pure parts: its command line (usage errors exit 2 with the usage text, no stack trace),
// reading `pulumi config --json`, the flags it asks of rclone, the remote environment, and turning rclone's
// log into output that names no object.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { describe, it } from "node:test";
import { oldUrlsAdvice } from "../tools/migrate";
import { parseMigrateArgs } from "../tools/migrate/args";
import { Comparison, lsjsonEntry, prefixOf } from "../tools/migrate/listing";
import { COMMON_FLAGS, COPY_FLAGS, LIST_FLAGS, PROBE_FLAGS } from "../tools/migrate/rclone-flags";
import { s3RemoteEnv, passedThrough } from "../tools/migrate/rclone-env";
import { LogSummary, progressLine, redact } from "../tools/migrate/rclone-log";
import { hostScript, sshProblem } from "../tools/migrate/runner";
import { rawConfigFromCli } from "../tools/migrate/stack";
import { UsageError } from "../tools/stack-args";
import { which } from "./support/which";

describe("migrate command line", () => {
  it("reads each source kind and the stack", () => {
    assert.deepEqual(parseMigrateArgs(["plan", "--from", "host", "--stack", "prod"]), {
      step: "plan",
      source: { kind: "host" },
      stack: "prod",
    });
    assert.deepEqual(parseMigrateArgs(["copy", "--from=/srv/mastodon/public/system/"]), {
      step: "copy",
      source: { kind: "dir", path: "/srv/mastodon/public/system/" },
    });
    assert.deepEqual(
      parseMigrateArgs([
        "verify",
        "--from",
        "s3://old-media/mastodon/",
        "--source-endpoint",
        "s3.wasabisys.com",
        "--source-region",
        "us-east-1",
        "--list",
        "/tmp/missing.txt",
      ]),
      {
        step: "verify",
        source: {
          kind: "s3",
          bucket: "old-media",
          prefix: "mastodon",
          endpoint: "s3.wasabisys.com",
          region: "us-east-1",
        },
        list: "/tmp/missing.txt",
      },
    );
  });

  for (const [argv, problem] of [
    [[], /no step given/],
    [["sync", "--from", "host"], /unknown step "sync"/],
    [["copy"], /--from is required/],
    [["copy", "--from", "relative/dir"], /expected host, an absolute directory, or s3/],
    [["copy", "--from", "s3://Bad_Bucket"], /not a bucket name/],
    [["copy", "--from", "s3://old-media"], /needs --source-endpoint/],
    [["copy", "--from", "host", "--source-endpoint", "x"], /only go with --from s3/],
    [["copy", "--from", "host", "--list", "f"], /--list only goes with verify/],
    [["copy", "--from", "host", "--stack"], /--stack needs a stack name/],
    [["copy", "--from", "host", "--delete"], /unknown argument "--delete"/],
    [["copy", "--from", "host", "--from", "/x"], /--from given twice/],
  ] as const) {
    it(`refuses ${JSON.stringify(argv)} as a usage error with the usage text`, () => {
      assert.throws(
        () => parseMigrateArgs([...argv]),
        (e: unknown) =>
          e instanceof UsageError && problem.test(e.message) && e.message.includes("usage: npm run migrate"),
      );
    });
  }

  it("as the operator runs it: a usage error exits 2 with the usage text and no stack trace", () => {
    const r = spawnSync(
      process.execPath,
      ["--import", "tsx", path.join(__dirname, "..", "tools", "migrate.ts"), "copy", "--from", "nowhere"],
      { encoding: "utf8", env: { ...process.env, NODE_OPTIONS: "" }, timeout: 120_000 },
    );
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^migrate: --from "nowhere": expected host/);
    assert.match(r.stderr, /usage: npm run migrate -- <plan\|copy\|verify>/);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

describe("reading the stack through the CLI's JSON", () => {
  it("takes the project's keys, bare or full, values and secrecy as printed", () => {
    const raw = rawConfigFromCli(
      {
        "mastodon-media:domain": { value: "example.social", secret: false },
        "mastodon-media:e2SecretAccessKey": { value: "s3cr3t", secret: true },
        "mastodon-media:mastodonHost": { value: '{"host":"h"}', objectValue: { host: "h" }, secret: false },
        "aws:region": { value: "us-east-1", secret: false },
        bucket: { value: "media", secret: false },
      },
      "mastodon-media",
    );
    assert.deepEqual(raw.values, {
      domain: "example.social",
      e2SecretAccessKey: "s3cr3t",
      mastodonHost: '{"host":"h"}',
      bucket: "media",
    });
    assert.deepEqual([...raw.secretKeys], ["e2SecretAccessKey"]);
  });

  it("an encrypted value (CLI run without --show-secrets) is an error naming the key, not an empty secret", () => {
    assert.throws(
      () => rawConfigFromCli({ "mastodon-media:e2SecretAccessKey": { secret: true } }, "mastodon-media"),
      /mastodon-media:e2SecretAccessKey is encrypted.*--show-secrets/,
    );
  });
});

describe("what rclone is asked", () => {
  const all = [...COMMON_FLAGS, ...LIST_FLAGS, ...PROBE_FLAGS, ...COPY_FLAGS];

  it(
    "every flag exists in the installed rclone (`rclone help flags`, `rclone lsjson --help`)",
    { skip: which("rclone") ? undefined : "rclone is not installed" },
    () => {
      const help = ["help flags", "lsjson --help"]
        .map((a) => spawnSync("rclone", a.split(" "), { encoding: "utf8" }).stdout)
        .join("\n");
      for (const flag of new Set(all.map((f) => f.split("=")[0]!))) {
        assert.match(
          help,
          new RegExp(`\\s${flag.replace(/-/g, "\\-")}[ ,]`),
          `${flag} is not an rclone flag`,
        );
      }
    },
  );

  it("copy never deletes: no sync, move or delete flag anywhere", () => {
    assert.ok(!all.some((f) => /delete|--backup-dir|--move|sync/.test(f)), all.join(" "));
  });

  it("an s3 remote is wholly in environment variables, keys included", () => {
    assert.deepEqual(
      s3RemoteEnv({
        name: "e2",
        provider: "IDrive",
        endpoint: "s3.eu-central-2.idrivee2.com",
        region: "eu-central-2",
        key: { accessKeyId: "KEY", secretAccessKey: "SECRET" },
      }),
      {
        RCLONE_CONFIG_E2_TYPE: "s3",
        RCLONE_CONFIG_E2_PROVIDER: "IDrive",
        RCLONE_CONFIG_E2_ENDPOINT: "https://s3.eu-central-2.idrivee2.com",
        RCLONE_CONFIG_E2_ACCESS_KEY_ID: "KEY",
        RCLONE_CONFIG_E2_SECRET_ACCESS_KEY: "SECRET",
        RCLONE_CONFIG_E2_FORCE_PATH_STYLE: "true",
        RCLONE_CONFIG_E2_REGION: "eu-central-2",
      },
    );
  });

  it("a local rclone gets PATH, HOME, TMPDIR and the CA settings only: never AWS_CA_BUNDLE nor other secrets", () => {
    assert.deepEqual(
      passedThrough({
        PATH: "/usr/bin",
        HOME: "/home/op",
        AWS_CA_BUNDLE: "/etc/ca.pem",
        SOURCE_SECRET_ACCESS_KEY: "x",
        CLOUDFLARE_API_TOKEN: "y",
        SSL_CERT_FILE: "/etc/ssl/ca.pem",
      }),
      { PATH: "/usr/bin", HOME: "/home/op", SSL_CERT_FILE: "/etc/ssl/ca.pem" },
    );
  });

  it("on the host, the script unsets AWS_CA_BUNDLE and quotes every value and argument", () => {
    const script = hostScript(["copy", "/srv/it's here"], { RCLONE_CONFIG_E2_SECRET_ACCESS_KEY: "a'b$c" });
    assert.match(script, /^unset AWS_CA_BUNDLE$/m);
    assert.match(script, /^export RCLONE_CONFIG_E2_SECRET_ACCESS_KEY='a'\\''b\$c'$/m);
    assert.match(script, /^exec rclone 'copy' '\/srv\/it'\\''s here' <\/dev\/null$/m);
  });

  it("ssh's own words become a message naming the host and what to check", () => {
    assert.match(
      sshProblem(["Host key verification failed."], "u@h:22")!,
      /host key other than mastodonHost\.hostKey/,
    );
    assert.match(sshProblem(["u@h: Permission denied (publickey)."], "u@h:22")!, /refused the login/);
    assert.equal(sshProblem(["something else"], "u@h:22"), undefined);
  });
});

describe("rclone's output, made safe to print", () => {
  const KEY = "media_attachments/files/110/123/456/789/012/345/original/0123456789abcdef.jpg";

  it("an error line loses the object, any URL path and anything under the source root", () => {
    const line = JSON.stringify({
      level: "error",
      msg: `Failed to copy: Put "https://s3.example.com/files/${KEY}": dial tcp: i/o timeout; open /srv/system/${KEY}: permission denied`,
      object: KEY,
    });
    const log = new LogSummary(["/srv/system"]);
    log.line(line);
    const [msg] = log.firstErrors();
    assert.ok(!msg!.includes("0123456789abcdef"), msg);
    assert.match(msg!, /https:\/\/s3\.example\.com\/…/);
    assert.equal(redact(`x ${KEY} y`, KEY, []), "x <object> y");
  });

  it("a stats line becomes files, bytes, rate and time left; the names rclone lists as in flight are not printed", () => {
    let shown = "";
    const log = new LogSummary([], (s) => (shown = progressLine(s)));
    log.line(
      JSON.stringify({
        level: "warning",
        msg: `Transferring: ${KEY}`,
        stats: {
          bytes: 1536,
          totalBytes: 3072,
          transfers: 1,
          totalTransfers: 2,
          checks: 5,
          errors: 0,
          speed: 1024,
          eta: 65,
          elapsedTime: 3,
          transferring: [{ name: KEY }],
        },
      }),
    );
    assert.equal(
      shown,
      "copy: 1/2 files copied, 5 already there, 1.5 KiB/3.0 KiB, 1.0 KiB/s, 0 errors, 3s elapsed, 1m05s left",
    );
  });

  it("listings are compared per top-level prefix: present, missing, another size", () => {
    assert.deepEqual(lsjsonEntry(`{"Path":"${KEY}","Name":"x.jpg","Size":12,"ModTime":"","IsDir":false},`), {
      key: KEY,
      size: 12,
    });
    assert.equal(lsjsonEntry("["), undefined);
    assert.equal(prefixOf("favicon.ico"), "(top level)");
    const c = new Comparison();
    c.addBucket("a/1", 1);
    c.addBucket("a/2", 5);
    c.addBucket("b/only-in-bucket", 9);
    c.addSource("a/1", 1);
    c.addSource("a/2", 2);
    c.addSource("a/3", 3);
    const a = c.prefixes.get("a/")!;
    assert.deepEqual([a.present.objects, a.missing.objects, a.different.objects], [1, 1, 1]);
    assert.deepEqual(c.toCopy, ["a/2", "a/3"]);
    assert.equal(c.total().bucket.objects, 3);
  });
});

describe("what plan says about old /system/ URLs", () => {
  const oldUrls = {
    instanceHost: "example.social",
    mediaHost: "media-example.example.social",
    zone: "example.social",
  };

  it("names the stack's Cloudflare rule when legacyMediaRedirect is on, and prints no nginx snippet", () => {
    const advice = oldUrlsAdvice({ ...oldUrls, byCloudflareRule: true });
    assert.match(
      advice,
      /redirected to https:\/\/media-example\.example\.social\/<key> by the stack's Cloudflare rule/,
    );
    assert.doesNotMatch(advice, /rewrite|location/);
  });

  it("prints the nginx redirect when the rule is off, naming legacyMediaRedirect as the alternative", () => {
    const advice = oldUrlsAdvice({ ...oldUrls, byCloudflareRule: false });
    assert.match(advice, /legacyMediaRedirect is off: .*legacyMediaRedirect: true does the same at the edge/);
    assert.match(advice, /^location \^~ \/system\/ \{$/m);
    assert.match(
      advice,
      /rewrite \^\/system\/\(\.\+\)\$ https:\/\/media-example\.example\.social\/\$1\? permanent;/,
    );
  });
});
