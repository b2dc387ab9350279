// runtime/check-local-media.sh on real files, against a real HTTPS server on loopback, under each shell, awk
// and HTTP client a Mastodon host may have (dash + mawk + curl on Debian, gawk + GNU wget, busybox with its own
// awk, find and wget). Each variant runs with a PATH holding only the tools the script may use, so a
// dependency on anything else fails here.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { after, before, describe, it } from "node:test";
import { PUBLIC_MEDIA_PREFIXES } from "../components/media-paths";
import { startMediaFilesServer, type MediaFilesServer } from "./support/media-files-server";
import { which } from "./support/which";
import { HANG_LIMIT_MS } from "./support/hang-limit";

const SCRIPT = path.join(__dirname, "..", "runtime", "check-local-media.sh");
const BASE_TOOLS = ["find", "awk", "mktemp", "rm", "cat", "head", "tail", "tr", "id", "grep", "timeout"];

interface Variant {
  label: string;
  shell?: string;
  /** Tool name → the executable it links to (busybox applets link to busybox itself). */
  tools: Record<string, string>;
  client: "curl" | "GNU wget" | "none";
  missing?: string;
}

function systemTools(names: string[], awk: string): { tools: Record<string, string>; missing?: string } {
  const tools: Record<string, string> = {};
  for (const name of names) {
    const found = which(name === "awk" ? awk : name);
    if (!found) return { tools, missing: `${name === "awk" ? awk : name} is not installed` };
    tools[name] = found;
  }
  return { tools };
}

const dash = which("dash");
const busybox = which("busybox");
const variants: Variant[] = [
  { label: "dash, mawk, curl", awk: "mawk", client: "curl" as const, extra: ["curl"] },
  { label: "dash, gawk, GNU wget", awk: "gawk", client: "GNU wget" as const, extra: ["wget"] },
  { label: "dash, mawk, neither curl nor wget", awk: "mawk", client: "none" as const, extra: [] },
].map(({ label, awk, client, extra }) => {
  const { tools, missing } = systemTools([...BASE_TOOLS, ...extra], awk);
  return { label, shell: dash, tools, client, missing: !dash ? "dash is not installed" : missing };
});
variants.push(
  {
    label: "busybox sh with busybox's awk, find and the rest, and curl",
    shell: busybox,
    tools: busybox
      ? { ...Object.fromEntries(BASE_TOOLS.map((t) => [t, busybox])), ...systemTools(["curl"], "awk").tools }
      : {},
    client: "curl",
    missing: !busybox ? "busybox is not installed" : !which("curl") ? "curl is not installed" : undefined,
  },
  {
    label: "busybox sh with only busybox's wget, which cannot verify certificates",
    shell: busybox,
    tools: busybox ? Object.fromEntries([...BASE_TOOLS, "wget"].map((t) => [t, busybox])) : {},
    client: "none",
    missing: busybox ? undefined : "busybox is not installed",
  },
);

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

describe("check-local-media.sh's prefix list", () => {
  it("is Mastodon's public media prefixes of components/media-paths.ts, in the same order", () => {
    const m = /^PUBLIC_PREFIXES="([^"]*)"$/m.exec(fs.readFileSync(SCRIPT, "utf8"));
    assert.ok(m, "no PUBLIC_PREFIXES line in the script");
    assert.deepEqual(m[1].split(" "), [...PUBLIC_MEDIA_PREFIXES]);
  });
});

describe("check-local-media.sh", () => {
  let server: MediaFilesServer;
  let caseNo = 0;
  let root: string;

  before(async () => {
    server = await startMediaFilesServer();
    root = fs.mkdtempSync(path.join(os.tmpdir(), "check-local-media-"));
  });
  after(async () => {
    await server.close();
    fs.rmSync(root, { recursive: true, force: true });
  });

  let tags = 0;
  /** Files Mastodon would have under public/system (avatars, attachments, emojis, cache), unique to the call. */
  function mastodonFiles(count: number): string[] {
    const tag = `t${++tags}`;
    const kinds = [
      "accounts/avatars/000/000/%/original/a%-#.png",
      "media_attachments/files/110/000/%/original/m%-#.jpg",
      "custom_emojis/images/000/000/%/static/e%-#.png",
      "cache/media_attachments/files/111/222/%/small/c%-#.webp",
    ];
    return Array.from({ length: count }, (_, i) => {
      const n = String(i).padStart(3, "0");
      return kinds[i % kinds.length].replaceAll("%", n).replaceAll("#", tag);
    });
  }

  for (const variant of variants) {
    describe(`check-local-media.sh under ${variant.label}`, () => {
      if (variant.missing !== undefined) {
        it(`is skipped: ${variant.missing}`, { skip: variant.missing }, () => {});
        return;
      }
      let bin: string;
      let wgetrc: string;

      before(() => {
        bin = path.join(root, `bin-${variant.label.replace(/\W+/g, "-")}`);
        fs.mkdirSync(bin);
        for (const [name, target] of Object.entries(variant.tools))
          fs.symlinkSync(target, path.join(bin, name));
        wgetrc = path.join(bin, "..", `wgetrc-${path.basename(bin)}`);
        fs.writeFileSync(wgetrc, `ca_certificate = ${server.caFile}\n`);
      });

      /** A fresh public/system holding the given files; returns its path. */
      function mediaDir(files: string[]): string {
        const dir = path.join(root, `case-${++caseNo}`, "public", "system");
        fs.mkdirSync(dir, { recursive: true });
        for (const f of files) {
          fs.mkdirSync(path.dirname(path.join(dir, f)), { recursive: true });
          fs.writeFileSync(path.join(dir, f), "media");
        }
        return dir;
      }

      function check(
        dir: string,
        opts: { trustCa?: boolean; user?: { uid: number; gid: number } } = {},
      ): Promise<Result> {
        const trust = opts.trustCa ?? true;
        let script = SCRIPT;
        if (opts.user) {
          script = path.join(root, "check-local-media.sh");
          fs.copyFileSync(SCRIPT, script);
          fs.chmodSync(script, 0o644);
          fs.chmodSync(root, 0o755);
        }
        const env: Record<string, string> = { PATH: bin, HOME: root, LC_ALL: "C" };
        if (trust) Object.assign(env, { CURL_CA_BUNDLE: server.caFile, WGETRC: wgetrc });
        return new Promise((resolve, reject) => {
          const child = spawn(
            variant.shell!,
            [
              ...(variant.shell === busybox ? ["sh"] : []),
              script,
              dir,
              server.baseUrl,
              "files",
              "s3.example.test",
            ],
            { env, stdio: ["pipe", "pipe", "pipe"], ...opts.user },
          );
          let stdout = "";
          let stderr = "";
          child.stdout.on("data", (d) => (stdout += d));
          child.stderr.on("data", (d) => (stderr += d));
          const timer = setTimeout(() => child.kill("SIGKILL"), HANG_LIMIT_MS);
          child.on("error", reject);
          child.on("close", (status) => {
            clearTimeout(timer);
            resolve({ status, stdout, stderr });
          });
          // Whatever arrives on stdin (the env block, in a push) is not the check's to read.
          child.stdin.on("error", () => {});
          child.stdin.end("AWS_SECRET_ACCESS_KEY=not-for-the-check\n");
        });
      }

      /** The keys requested since `from`, checking each request is a HEAD (curl) or HEAD/GET (wget). */
      function requestedKeys(from: number): string[] {
        return server.requests.slice(from).map((r) => {
          const m = /^(HEAD|GET) \/(.+)$/.exec(r);
          assert.ok(m, r);
          if (variant.client === "curl") assert.equal(m[1], "HEAD", r);
          return decodeURIComponent(m[2]);
        });
      }

      /** The public prefix a requested key falls under (every sampled key has one). */
      function prefixOf(key: string): string {
        const prefix = PUBLIC_MEDIA_PREFIXES.find((p) => key.startsWith(p));
        assert.ok(prefix, `${key} is under no public prefix`);
        return prefix;
      }

      /** Neither a file's path nor its name appears in anything the script printed. */
      function assertNoFileNamed(r: Result, files: string[]): void {
        for (const f of files) {
          assert.ok(!(r.stdout + r.stderr).includes(f), `${f} was printed`);
          assert.ok(!(r.stdout + r.stderr).includes(path.basename(f)), `${path.basename(f)} was printed`);
        }
      }

      if (variant.client === "none") {
        it("stops, naming curl and GNU wget and the way out, when the server has neither", async () => {
          const dir = mediaDir(mastodonFiles(3));
          const r = await check(dir);
          assert.equal(r.status, 1);
          assert.match(r.stderr, /neither curl nor GNU wget is installed/);
          assert.match(r.stderr, /localMediaDir to false/);
        });
        it("still passes without an HTTP client when there is no local media to check", async () => {
          const r = await check(path.join(root, "nowhere", "public", "system"));
          assert.equal(r.status, 0, r.stderr);
        });
        return;
      }

      it("passes when the media directory does not exist, requesting nothing", async () => {
        const from = server.requests.length;
        const r = await check(path.join(root, "no-such-instance", "public", "system"));
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /does not exist; nothing to copy/);
        assert.equal(server.requests.length, from);
      });

      it("passes without a request when only archives, imports, hidden files and odd names are there", async () => {
        const from = server.requests.length;
        const dir = mediaDir([
          "backups/dumps/000/000/001/original/archive.zip",
          "imports/data/000/000/001/original/follows.csv",
          ".DS_Store",
          "accounts/avatars/000/000/001/original/.hidden.png",
          "accounts/avatars/000/000/001/original/with space.png",
        ]);
        const r = await check(dir);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /no public media files under/);
        assert.equal(server.requests.length, from);
      });

      it("requests 20 of 60 files, each at BASE_URL/<path under the directory>, and passes when all are served", async () => {
        const files = mastodonFiles(60);
        const dir = mediaDir([...files, "backups/dumps/000/000/001/original/archive.zip"]);
        for (const f of files) server.keys.add(f);
        const from = server.requests.length;
        const r = await check(dir);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(
          r.stdout,
          `mastodon-media: local media: all 20 sampled files of the 60 under ${dir} are served at ${server.baseUrl}/\n`,
        );
        const keys = requestedKeys(from);
        assert.equal(new Set(keys).size, 20, keys.join("\n"));
        for (const k of keys) assert.ok(files.includes(k), k);
      });

      it("refuses when the media was never copied: counts per prefix with the status, no file name, prints the copy command", async () => {
        const files = mastodonFiles(60);
        const dir = mediaDir(files);
        const from = server.requests.length;
        const r = await check(dir);
        assert.equal(r.status, 1);
        assert.equal(r.stdout, "");
        assert.match(
          r.stderr,
          new RegExp(`20 of 20 sampled files \\(of 60 under ${dir.replace(/[.]/g, "\\.")}\\) are not served`),
        );
        assert.ok(
          r.stderr.includes(`aws s3 sync '${dir}/' 's3://files/' --endpoint-url 'https://s3.example.test'`),
        );
        assert.match(r.stderr, /nothing was changed on this server/);
        // One line per prefix the sample drew from, the counts adding up to the misses, each with the status.
        const lines = r.stderr.split("\n").filter((l) => /^ {2}\S+\/: \d+ \(/.test(l));
        const sampledPrefixes = new Set(requestedKeys(from).map(prefixOf));
        assert.deepEqual(new Set(lines.map((l) => l.trim().split(":")[0])), sampledPrefixes);
        assert.equal(
          lines.reduce((sum, l) => sum + Number(/: (\d+) \(/.exec(l)![1]), 0),
          20,
        );
        for (const l of lines) assert.match(l, /\(HTTP\/?[\d.]* ?404\)$/, l);
        assertNoFileNamed(r, files);
      });

      it("catches the one file of five that is not in the bucket, naming its prefix and not the file", async () => {
        const files = mastodonFiles(5);
        const dir = mediaDir(files);
        for (const f of files.slice(1)) server.keys.add(f);
        const r = await check(dir);
        assert.equal(r.status, 1);
        assert.match(r.stderr, /1 of 5 sampled files/);
        assert.match(r.stderr, /^ {2}accounts\/avatars\/: 1 \(/m);
        assertNoFileNamed(r, files);
      });

      it("samples only files under Mastodon's public prefixes, preview card provider icons included", async () => {
        const icons = Array.from(
          { length: 3 },
          (_, i) => `preview_card_providers/icons/000/000/00${i}/static/favicon-${++tags}.png`,
        );
        const outside = [
          "backups/dumps/000/000/001/original/archive.zip",
          "imports/data/000/000/001/original/follows.csv",
          "cache/backups/dumps/000/000/001/original/archive.zip",
          "accounts/avatarsX/000/000/001/original/a.png",
          "unknown_things/files/000/000/001/original/a.png",
          "favicon.ico",
          "accounts/avatars/",
        ];
        const dir = mediaDir([...icons, ...outside.filter((f) => !f.endsWith("/"))]);
        fs.mkdirSync(path.join(dir, "accounts", "avatars"), { recursive: true });
        for (const f of icons) server.keys.add(f);
        const from = server.requests.length;
        const r = await check(dir);
        assert.equal(r.status, 0, r.stderr);
        assert.match(r.stdout, /all 3 sampled files of the 3 under /);
        assert.deepEqual(requestedKeys(from).sort(), [...icons].sort());
      });

      it("counts a media host whose certificate it cannot verify as not serving", async () => {
        const files = mastodonFiles(2);
        const dir = mediaDir(files);
        for (const f of files) server.keys.add(f);
        const r = await check(dir, { trustCa: false });
        assert.equal(r.status, 1);
        assert.match(r.stderr, /2 of 2 sampled files/);
        assert.match(r.stderr, /certificate/i);
      });

      // Root reads every directory, so as root (CI) the script runs as nobody (65534), from a copy in the
      // test's folder, which is opened to others for this test.
      const asNobody = process.getuid?.() === 0;
      it("refuses a directory it cannot list completely, naming it", async () => {
        const dir = mediaDir(mastodonFiles(2));
        const locked = path.join(dir, "accounts");
        fs.chmodSync(locked, 0o000);
        try {
          const r = await check(dir, asNobody ? { user: { uid: 65534, gid: 65534 } } : {});
          assert.equal(r.status, 1, r.stderr);
          assert.match(r.stderr, /cannot list all of/);
        } finally {
          fs.chmodSync(locked, 0o755);
        }
      });
    });
  }

  it(
    "a sampling that fails (here an awk that exits 1) refuses instead of passing with nothing checked",
    { skip: !dash && "dash is not installed" },
    () => {
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), "check-local-media-badawk-"));
      try {
        for (const t of [...BASE_TOOLS.filter((t) => t !== "awk"), "curl"]) {
          const found = which(t);
          if (found) fs.symlinkSync(found, path.join(bin, t));
        }
        fs.writeFileSync(path.join(bin, "awk"), "#!/bin/sh\nexit 1\n", { mode: 0o755 });
        const dir = fs.mkdtempSync(path.join(bin, "media-"));
        fs.writeFileSync(path.join(dir, "a.png"), "x");
        const r = spawnSync(dash!, [SCRIPT, dir, "https://localhost:1", "files", "e"], {
          env: { PATH: bin },
          encoding: "utf8",
          timeout: HANG_LIMIT_MS,
        });
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /awk failed while sampling/);
      } finally {
        fs.rmSync(bin, { recursive: true, force: true });
      }
    },
  );

  it(
    "a control for the restricted PATH: without find the script cannot list and refuses",
    { skip: !dash && "dash is not installed" },
    () => {
      const bin = fs.mkdtempSync(path.join(os.tmpdir(), "check-local-media-nofind-"));
      try {
        for (const t of [...BASE_TOOLS.filter((t) => t !== "find"), "curl"]) {
          const found = which(t);
          if (found) fs.symlinkSync(found, path.join(bin, t));
        }
        const dir = fs.mkdtempSync(path.join(bin, "media-"));
        fs.writeFileSync(path.join(dir, "a.png"), "x");
        const r = spawnSync(dash!, [SCRIPT, dir, "https://localhost:1", "files", "e"], {
          env: { PATH: bin },
          encoding: "utf8",
          timeout: HANG_LIMIT_MS,
        });
        assert.equal(r.status, 1, r.stdout + r.stderr);
        assert.match(r.stderr, /cannot list all of/);
      } finally {
        fs.rmSync(bin, { recursive: true, force: true });
      }
    },
  );
});
