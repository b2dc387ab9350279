// `npm run purge -- [--stack <name>] <media URL>…`: takes media down at Cloudflare's edge after it was removed in
// Mastodon. Mastodon deletes the object from the bucket, but the edge keeps serving its cached copies for years
// (Mastodon uploads with a ten-year immutable Cache-Control). This purges each given URL and the other sizes
// Mastodon keeps of the same attachment, through Cloudflare's purge-by-URL API and the official SDK.
//
// - The media host and zone come from the stack's outputs (`pulumi stack output --json`: `mediaHost`, `zoneId`),
//   so a URL of another host, or of the instance's own site, is refused and nothing at all is purged.
// - The token: CLOUDFLARE_API_TOKEN, else the stack's `cloudflare:apiToken` (`pulumi config get`, decrypted by
//   the CLI into this process, never printed or passed on a command line). It needs Cache Purge on the zone.
// - The CLI is asked through tools/pulumi-cli.ts, which deals with a passphrase-protected stack and reports the
//   CLI's own error (a missing token is reported only when the stack really has none).
// - Sizes: Paperclip keeps `<class>/<attachment>/<id partition>/<style>/<file>` (`cache/` in front for remote
//   media). Styles, from mastodon/mastodon's app/models/media_attachment.rb (media files: `original` and `small`;
//   a video's `small` is a PNG still, GIFs and converted videos become MP4), app/models/concerns/account/avatar.rb
//   and header.rb (`original`, plus `static` PNG for GIFs) and app/models/custom_emoji.rb (`original`, `static`
//   PNG). A custom thumbnail of a media attachment has its own file name: purge its URL too (the API's
//   `preview_url`). Purging a URL that was never cached is harmless.
/* eslint-disable @typescript-eslint/no-require-imports -- the SDK is loaded only when something is to be purged */
import { PulumiCliError, runPulumi } from "./pulumi-cli";

export const PURGE_COMMAND = "npm run purge --";
export const USAGE = `usage: ${PURGE_COMMAND} [--stack <name>] <media URL>...`;
/** Cloudflare's limit of URLs per purge request (the lowest of all plans). */
export const URLS_PER_REQUEST = 30;
const API_TIMEOUT_MS = 30_000;

/** A problem the operator can act on; printed without a stack trace. */
export class PurgeError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

export function parseArgs(argv: string[]): { stack?: string; urls: string[] } {
  let stack: string | undefined;
  const urls: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--stack" || arg === "-s") {
      stack = argv[++i];
      if (!stack) throw new PurgeError(`${arg} needs a stack name; ${USAGE}`, 2);
    } else if (arg.startsWith("--stack=")) {
      stack = arg.slice("--stack=".length);
      if (!stack) throw new PurgeError(`--stack= needs a stack name; ${USAGE}`, 2);
    } else if (arg.startsWith("-")) {
      throw new PurgeError(`unknown option ${JSON.stringify(arg)}; ${USAGE}`, 2);
    } else {
      urls.push(arg);
    }
  }
  if (urls.length === 0) throw new PurgeError(`no media URL given; ${USAGE}`, 2);
  return stack === undefined ? { urls } : { stack, urls };
}

/** Style → the file extensions that style may have besides the original's (formats Mastodon converts to). */
const STYLES_OF: Record<string, Record<string, string[]>> = {
  "media_attachments/files": { original: ["mp4", "mp3"], small: ["png", "jpeg"] },
  "accounts/avatars": { original: [], static: ["png"] },
  "accounts/headers": { original: [], static: ["png"] },
  "custom_emojis/images": { original: [], static: ["png"] },
};

/**
 * The URLs to purge for `url`: itself, plus each other style of the same attachment. Throws a PurgeError naming
 * the URL when it is not an https URL of `mediaHost`.
 */
export function urlsToPurge(url: string, mediaHost: string): string[] {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new PurgeError(`not a URL: ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "https:" || parsed.hostname !== mediaHost || parsed.port !== "") {
    throw new PurgeError(
      `not a media URL of this stack: ${JSON.stringify(url)} (media URLs start with https://${mediaHost}/)`,
    );
  }
  if (parsed.search || parsed.hash) {
    throw new PurgeError(`${JSON.stringify(url)}: give the media URL without a query string or fragment`);
  }
  const found = /^\/((?:cache\/)?)([a-z_]+\/[a-z_]+)\/((?:\d{3}\/)+)([a-z_]+)\/([^/]+)$/.exec(
    parsed.pathname,
  );
  if (!found) return [parsed.href];
  const [, cache, attachment, partition, , file] = found;
  const styles = STYLES_OF[attachment!];
  if (!styles) return [parsed.href];
  const dot = file!.lastIndexOf(".");
  const base = dot > 0 ? file!.slice(0, dot) : file!;
  const ext = dot > 0 ? file!.slice(dot + 1) : "";
  const out = new Set([parsed.href]);
  for (const [style, extensions] of Object.entries(styles)) {
    for (const e of new Set([ext, ...extensions])) {
      const name = e ? `${base}.${e}` : base;
      out.add(`https://${mediaHost}/${cache}${attachment}/${partition}${style}/${name}`);
    }
  }
  return [...out];
}

/** Every URL to purge, de-duplicated, or a PurgeError listing every refused URL (then nothing is purged). */
export function planPurge(urls: string[], mediaHost: string): string[] {
  const refused: string[] = [];
  const out = new Set<string>();
  for (const url of urls) {
    try {
      for (const u of urlsToPurge(url, mediaHost)) out.add(u);
    } catch (e) {
      if (!(e instanceof PurgeError)) throw e;
      refused.push(e.message);
    }
  }
  if (refused.length > 0) throw new PurgeError(`nothing purged:\n- ${refused.join("\n- ")}`);
  return [...out];
}

/** The stack's media host and zone ID, from its outputs. */
export function stackTarget(stack: string | undefined): { mediaHost: string; zoneId: string } {
  const text = runPulumi(["stack", "output", "--json"], stack);
  let outputs: { mediaHost?: unknown; zoneId?: unknown };
  try {
    outputs = JSON.parse(text) as typeof outputs;
  } catch {
    throw new PurgeError(`\`pulumi stack output --json\` did not print JSON`);
  }
  const { mediaHost, zoneId } = outputs;
  if (typeof mediaHost !== "string" || typeof zoneId !== "string" || !/^[0-9a-f]{32}$/.test(zoneId)) {
    throw new PurgeError(
      "the stack has no mediaHost and zoneId outputs yet: run `pulumi up` to completion first",
    );
  }
  return { mediaHost, zoneId };
}

/**
 * The CLI's answer when the stack has no such key (pkg/cmd/pulumi/config/config.go `getConfig`:
 * "configuration key '<key>' not found for stack '<stack>'"). Any other failure is the CLI's to report.
 */
const KEY_NOT_FOUND = /configuration key '[^']*' not found/;

/**
 * CLOUDFLARE_API_TOKEN, else the stack's `cloudflare:apiToken`. Never printed. "No token" only when the stack
 * really has none; a CLI failure (a passphrase it lacks, a stack it cannot find) is reported as such.
 */
export function apiToken(stack: string | undefined): string {
  const fromEnv = process.env.CLOUDFLARE_API_TOKEN;
  if (fromEnv) return fromEnv;
  let token: string;
  try {
    token = runPulumi(["config", "get", "cloudflare:apiToken"], stack).trim();
  } catch (e) {
    if (!(e instanceof PulumiCliError && KEY_NOT_FOUND.test(e.cliMessage))) throw e;
    token = "";
  }
  if (!token) {
    throw new PurgeError(
      "no Cloudflare API token: export CLOUDFLARE_API_TOKEN or set the stack's cloudflare:apiToken " +
        "(it needs the Cache Purge permission on the zone)",
    );
  }
  return token;
}

/** Purges `urls` in batches; returns how many requests were made. */
export async function purgeUrls(zoneId: string, urls: string[], token: string): Promise<number> {
  const { Cloudflare } = require("cloudflare") as typeof import("cloudflare");
  const client = new Cloudflare({
    apiToken: token,
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    timeout: API_TIMEOUT_MS,
    maxRetries: 2,
  });
  let requests = 0;
  for (let i = 0; i < urls.length; i += URLS_PER_REQUEST) {
    const files = urls.slice(i, i + URLS_PER_REQUEST);
    try {
      await client.cache.purge({ zone_id: zoneId, files });
    } catch (e) {
      const err = e as { errors?: { code?: number; message?: string }[]; message?: string };
      const detail = (err.errors ?? []).map((x) => `${x.code}: ${x.message}`).join("; ") || err.message;
      throw new PurgeError(
        `Cloudflare refused the purge of ${files.length} URL(s) after ${i} were purged: ${detail}` +
          " (the token needs the Cache Purge permission on the zone)",
      );
    }
    requests++;
  }
  return requests;
}

export async function main(argv: string[]): Promise<number> {
  try {
    const { stack, urls } = parseArgs(argv);
    const { mediaHost, zoneId } = stackTarget(stack);
    const plan = planPurge(urls, mediaHost);
    const token = apiToken(stack);
    await purgeUrls(zoneId, plan, token);
    process.stdout.write(
      `Purged from Cloudflare's cache (zone ${zoneId}):\n${plan.map((u) => `  ${u}\n`).join("")}`,
    );
    return 0;
  } catch (e) {
    if (e instanceof PurgeError || e instanceof PulumiCliError) {
      process.stderr.write(`purge: ${e.message}\n`);
      return e instanceof PurgeError ? e.exitCode : 1;
    }
    throw e;
  }
}

if (require.main === module) void main(process.argv.slice(2)).then((code) => (process.exitCode = code));
