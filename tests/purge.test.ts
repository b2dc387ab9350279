// `npm run purge`: the URL expansion as plain functions, then the command itself in a child process, as the
// operator runs it, against a stand-in `pulumi` executable (stack outputs and the stack's token) and the
// loopback Cloudflare API stand-in, through the official SDK.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PurgeError, URLS_PER_REQUEST, parseArgs, planPurge, urlsToPurge } from "../tools/purge";
import { startCloudflareStandIn, type CloudflareStandIn } from "./support/cloudflare-api";
import { HANG_LIMIT_MS } from "./support/hang-limit";

const HOST = "files.example.social";
const VIDEO = `https://${HOST}/media_attachments/files/113/456/789/012/345/678/original/abcdef0123456789.mp4`;
const AVATAR = `https://${HOST}/cache/accounts/avatars/109/000/000/000/000/001/original/face.gif`;

describe("which URLs a takedown purges", () => {
  it("a media file: the given URL, and both sizes in the formats Mastodon converts to", () => {
    const prefix = `https://${HOST}/media_attachments/files/113/456/789/012/345/678`;
    assert.deepEqual(urlsToPurge(VIDEO, HOST).sort(), [
      `${prefix}/original/abcdef0123456789.mp3`,
      `${prefix}/original/abcdef0123456789.mp4`,
      `${prefix}/small/abcdef0123456789.jpeg`,
      `${prefix}/small/abcdef0123456789.mp4`,
      `${prefix}/small/abcdef0123456789.png`,
    ]);
  });

  it("a remote account's avatar: original and static, keeping the cache/ prefix", () => {
    const prefix = `https://${HOST}/cache/accounts/avatars/109/000/000/000/000/001`;
    assert.deepEqual(urlsToPurge(AVATAR, HOST).sort(), [
      `${prefix}/original/face.gif`,
      `${prefix}/static/face.gif`,
      `${prefix}/static/face.png`,
    ]);
  });

  it("a URL of another shape on the media host is purged as given", () => {
    const card = `https://${HOST}/preview_cards/images/000/000/001/original/card.jpg`;
    assert.deepEqual(urlsToPurge(card, HOST), [card]);
  });

  it("refuses URLs that are not https URLs of the media host, naming each, and then purges nothing", () => {
    const bad = [
      "https://example.social/media_attachments/files/1/original/a.png",
      `http://${HOST}/media_attachments/files/000/000/001/original/a.png`,
      `https://${HOST}.evil.test/x.png`,
      `https://${HOST}:8443/x.png`,
      `https://${HOST}/x.png?v=1`,
      "not a url",
    ];
    for (const url of bad) assert.throws(() => urlsToPurge(url, HOST), PurgeError, url);
    assert.throws(
      () => planPurge([VIDEO, bad[0]!, bad[1]!], HOST),
      (e: PurgeError) =>
        e.message.startsWith("nothing purged") && e.message.includes(bad[0]!) && e.message.includes(bad[1]!),
    );
  });

  it("usage errors exit with 2: no URL, an unknown option, --stack without a name", () => {
    for (const argv of [[], ["--force", VIDEO], ["--stack"], ["--stack="]]) {
      assert.throws(
        () => parseArgs(argv),
        (e: PurgeError) => e.exitCode === 2 && /usage: npm run purge --/.test(e.message),
        argv.join(" "),
      );
    }
    assert.deepEqual(parseArgs(["-s", "prod", VIDEO]), { stack: "prod", urls: [VIDEO] });
  });
});

describe("npm run purge, as the operator runs it", () => {
  const TOKEN = `cf-purge-${randomBytes(8).toString("hex")}`;
  const ZONE = randomBytes(16).toString("hex");
  let api: CloudflareStandIn;
  let dir: string;

  before(async () => {
    api = await startCloudflareStandIn(TOKEN);
    dir = mkdtempSync(join(tmpdir(), "purge-"));
    // A stand-in `pulumi`: records its arguments; prints the stack outputs, or the stack's token.
    writeFileSync(
      join(dir, "outputs.json"),
      JSON.stringify({ mediaHost: HOST, zoneId: ZONE, bucketName: "files" }),
    );
    writeFileSync(join(dir, "token.txt"), `${TOKEN}\n`);
    writeFileSync(
      join(dir, "pulumi"),
      [
        "#!/bin/sh",
        `printf '%s ' "$@" >> '${join(dir, "calls.txt")}'; echo >> '${join(dir, "calls.txt")}'`,
        `case "$1 $2" in`,
        `  "stack output") cat '${join(dir, "outputs.json")}' ;;`,
        `  "config get") cat '${join(dir, "token.txt")}' ;;`,
        "  *) exit 3 ;;",
        "esac",
        "",
      ].join("\n"),
    );
    chmodSync(join(dir, "pulumi"), 0o755);
  });
  after(async () => {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function run(
    args: string[],
    env: NodeJS.ProcessEnv = {},
  ): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const { NODE_OPTIONS: _dropped, CLOUDFLARE_API_TOKEN: _token, ...inherited } = process.env;
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(__dirname, "..", "tools", "purge.ts"), ...args],
      {
        env: {
          ...inherited,
          PATH: `${dir}${delimiter}${process.env.PATH}`,
          CLOUDFLARE_BASE_URL: api.baseUrl,
          NODE_EXTRA_CA_CERTS: api.caFile,
          ...env,
        },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), HANG_LIMIT_MS);
      child.on("error", reject);
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  it("purges the URLs and their sizes in the stack's zone with the stack's token, 30 per request", async () => {
    const many = Array.from(
      { length: 8 },
      (_, n) => `https://${HOST}/media_attachments/files/000/000/00${n}/original/p${n}.png`,
    );
    const start = api.requests.length;
    const result = await run(["--stack", "prod", ...many]);
    assert.equal(result.code, 0, result.stderr);
    const expected = planPurge(many, HOST);
    assert.equal(expected.length, 8 * 5);
    assert.deepEqual(api.purged.get(ZONE), expected);
    const requests = api.requests.slice(start);
    assert.equal(requests.length, Math.ceil(expected.length / URLS_PER_REQUEST));
    for (const r of requests) {
      assert.equal(r.path, `/client/v4/zones/${ZONE}/purge_cache`);
      assert.equal(r.authorization, `Bearer ${TOKEN}`);
    }
    const calls = readFileSync(join(dir, "calls.txt"), "utf8");
    assert.match(calls, /stack output --json --stack prod/);
    assert.match(calls, /config get cloudflare:apiToken --stack prod/);
    assert.ok(!`${result.stdout}${result.stderr}${calls}`.includes(TOKEN), "the token was printed or passed");
    assert.match(result.stdout, /Purged from Cloudflare's cache/);
  });

  it("refuses a URL that is not on the stack's media host and purges nothing, not even the good ones", async () => {
    const before = api.requests.length;
    const result = await run([
      VIDEO,
      "https://example.social/system/media_attachments/files/1/original/a.png",
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /^purge: nothing purged:/);
    assert.match(result.stderr, /https:\/\/example\.social\/system/);
    assert.equal(api.requests.length, before);
  });

  it("uses CLOUDFLARE_API_TOKEN when set; a token Cloudflare refuses is reported without the token", async () => {
    const ok = await run([AVATAR], { CLOUDFLARE_API_TOKEN: TOKEN });
    assert.equal(ok.code, 0, ok.stderr);
    const wrong = `wrong-${TOKEN}`;
    const refused = await run([AVATAR], { CLOUDFLARE_API_TOKEN: wrong });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /10000: Authentication error/);
    assert.match(refused.stderr, /Cache Purge/);
    assert.ok(!refused.stderr.includes(wrong));
  });

  it("exits 2 with the usage line when no URL is given", async () => {
    const result = await run(["--stack", "prod"]);
    assert.equal(result.code, 2);
    assert.equal(
      result.stderr,
      "purge: no media URL given; usage: npm run purge -- [--stack <name>] <media URL>...\n",
    );
  });
});
