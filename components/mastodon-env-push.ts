// Pushes the S3 env block to the Mastodon server over SSH, after the media check: runtime/check-local-media.sh
// first proves that media still on the server's disk is served from the bucket (else nothing changes), then
// runtime/merge-env.sh merges the block into the env file, then web and sidekiq restart if the file changed.
import * as fs from "node:fs";
import * as path from "node:path";
import { Command } from "@pulumi/command/remote/command";
import * as pulumi from "@pulumi/pulumi";

/** How Mastodon's web and sidekiq processes are restarted after the env file changed. */
export type MastodonRestart = "systemd" | "docker-compose" | "none";

/** Where Mastodon's install guide puts the env file. */
export const DEFAULT_ENV_FILE = "/home/mastodon/live/.env.production";
export const DEFAULT_RESTART: MastodonRestart = "systemd";

/**
 * The restart command per mode. `sudo -n` fails at once instead of waiting for a password nobody can type.
 * docker compose: `restart` keeps the environment the containers were created with, so an env_file change only
 * takes effect when they are recreated; `--no-deps` leaves the database and redis alone.
 */
export function restartCommand(restart: MastodonRestart, envFile: string): string | undefined {
  switch (restart) {
    case "systemd":
      return (
        'if [ "$(id -u)" -eq 0 ]; then systemctl restart mastodon-web mastodon-sidekiq; ' +
        "else sudo -n systemctl restart mastodon-web mastodon-sidekiq; fi"
      );
    case "docker-compose":
      return `(cd ${shQuote(path.posix.dirname(envFile))} && docker compose up -d --no-deps --force-recreate web sidekiq)`;
    case "none":
      return undefined;
  }
}

/** The merge script's text, read from runtime/ next to this program. */
export function readMergeEnvScript(): string {
  return fs.readFileSync(path.join(__dirname, "..", "runtime", "merge-env.sh"), "utf8");
}

/** The local-media check's text (runtime/check-local-media.sh), shipped to the server like the merge script. */
export function readCheckLocalMediaScript(): string {
  return fs.readFileSync(path.join(__dirname, "..", "runtime", "check-local-media.sh"), "utf8");
}

/** Where Mastodon keeps media on local disk: public/system next to the env file (source and docker installs). */
export function defaultLocalMediaDir(envFile: string): string {
  return path.posix.join(path.posix.dirname(envFile), "public", "system");
}

/** Single-quotes a word for a POSIX shell. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

const HEREDOC_END = "MASTODON_MEDIA_MERGE_ENV_SH";
const CHECK_HEREDOC_END = "MASTODON_MEDIA_CHECK_LOCAL_MEDIA_SH";

/** Why an env file path can't be used, or undefined when it can. */
export function envFileProblem(envFile: string): string | undefined {
  if (!envFile.startsWith("/")) return "must be an absolute path";
  if (/[\0\r\n]/.test(envFile)) return "must not contain NUL or line breaks";
  return undefined;
}

/** Why a restart mode can't be used, or undefined when it can. */
export function restartProblem(restart: string): string | undefined {
  return ["systemd", "docker-compose", "none"].includes(restart)
    ? undefined
    : 'must be "systemd", "docker-compose" or "none"';
}

/** A script as a quoted here-document written to the file named by the shell variable `fileVar`. */
function hereDocument(fileVar: string, end: string, script: string, what: string): string[] {
  if (script.split("\n").includes(end)) {
    throw new Error(`the ${what} contains the line ${end}, which would end its here-document early`);
  }
  const text = script.endsWith("\n") ? script : `${script}\n`;
  return [`cat >"$${fileVar}" <<'${end}'`, text + end];
}

/**
 * The shell command run on the Mastodon host, with the env block arriving on stdin (it holds the keys, so it
 * is never part of this string). The scripts travel inline in quoted here-documents, written to temporary
 * files so that stdin stays free for the block. It needs a POSIX login shell (sh, bash, dash, zsh).
 *
 * Order: when `localMediaDir` is given, the local-media check runs first and a miss stops everything before
 * the env file is touched; then the merge; then the restart, only if the file changed.
 *
 * A restart that fails leaves `<envFile>.restart-pending` behind: the next run finds the file already merged
 * ("unchanged") but still restarts, so a failed restart is retried instead of forgotten.
 */
export function buildEnvPushCommand(opts: {
  envFile: string;
  restart: MastodonRestart;
  mergeScript: string;
  /** Check media under this directory before switching; undefined: no check. */
  localMediaDir?: string;
  /** With localMediaDir: the local-media check's text. */
  checkScript?: string;
  /** With localMediaDir: `https://<media host>`, where copied media must be served. */
  mediaBaseUrl?: string;
  /** With localMediaDir: bucket and e2 endpoint host, for the copy command a miss prints. */
  bucket?: string;
  e2Endpoint?: string;
}): string {
  const fileProblem = envFileProblem(opts.envFile);
  if (fileProblem) throw new Error(`envFile ${fileProblem}`);
  const modeProblem = restartProblem(opts.restart);
  if (modeProblem) throw new Error(`restart ${modeProblem}`);
  const envFile = shQuote(opts.envFile);
  const lines = [
    "# mastodon-media: merge the S3 block (stdin) into the env file; restart web and sidekiq only if it changed.",
    "mm_script=$(mktemp) || exit 1",
  ];
  if (opts.localMediaDir === undefined) {
    lines.push(`trap 'rm -f "$mm_script"' EXIT`);
  } else {
    const { checkScript, mediaBaseUrl, bucket, e2Endpoint } = opts;
    if (checkScript === undefined || !mediaBaseUrl || !bucket || !e2Endpoint)
      throw new Error("localMediaDir needs checkScript, mediaBaseUrl, bucket and e2Endpoint");
    const dirProblem = envFileProblem(opts.localMediaDir);
    if (dirProblem) throw new Error(`localMediaDir ${dirProblem}`);
    lines.push(
      'mm_check=$(mktemp) || { rm -f "$mm_script"; exit 1; }',
      `trap 'rm -f "$mm_script" "$mm_check"' EXIT`,
      ...hereDocument("mm_check", CHECK_HEREDOC_END, checkScript, "local-media check script"),
      "# Media still on local disk must already be in the bucket: a miss stops here, before the env file.",
      `sh "$mm_check" ${[opts.localMediaDir, mediaBaseUrl, bucket, e2Endpoint].map(shQuote).join(" ")} </dev/null || exit 1`,
    );
  }
  lines.push(
    ...hereDocument("mm_script", HEREDOC_END, opts.mergeScript, "merge script"),
    `mm_result=$(sh "$mm_script" ${envFile}) || exit $?`,
    `printf '%s\\n' "$mm_result"`,
  );
  const restart = restartCommand(opts.restart, opts.envFile);
  if (restart === undefined) {
    lines.push(
      'if [ "$mm_result" != unchanged ]; then',
      '  echo "mastodon-media: restart is off; restart web and sidekiq yourself to apply the change"',
      "fi",
    );
  } else {
    const pending = shQuote(`${opts.envFile}.restart-pending`);
    lines.push(
      `if [ "$mm_result" != unchanged ] || [ -e ${pending} ]; then`,
      `  : >${pending} || exit 1`,
      `  ${restart} || { echo "mastodon-media: restart failed; the next pulumi up retries it" >&2; exit 1; }`,
      `  rm -f ${pending}`,
      '  echo "mastodon-media: restarted web and sidekiq"',
      "else",
      '  echo "mastodon-media: env file unchanged; no restart"',
      "fi",
    );
  }
  return lines.join("\n") + "\n";
}

export interface MastodonEnvPushArgs {
  /** Host name or IP address of the Mastodon server, reached over SSH. */
  host: pulumi.Input<string>;
  /**
   * SSH user. It must be able to write the env file and create files in its directory, and read
   * `localMediaDir`; for `restart: "systemd"` it must be root or allowed `sudo -n systemctl restart`; for
   * `"docker-compose"`, to run docker.
   */
  user: pulumi.Input<string>;
  /** SSH port. Default: 22. */
  port?: pulumi.Input<number>;
  /**
   * Absolute path of Mastodon's env file on the server. It must exist: a missing file is an error, never
   * created. Default: `/home/mastodon/live/.env.production`.
   */
  envFile?: string;
  /**
   * How to restart web and sidekiq after the file changed: `"systemd"` (the mastodon-web and mastodon-sidekiq
   * units), `"docker-compose"` (recreates the web and sidekiq services of the compose project in the env
   * file's directory), or `"none"`. Default: `"systemd"`.
   */
  restart?: MastodonRestart;
  /** Private key (OpenSSH or PEM text) for the SSH login. Secret. */
  privateKey: pulumi.Input<string>;
  /**
   * The server's SSH public host key (`ssh-ed25519 AAAA...`), checked on connect. Required: the connection
   * carries Mastodon's S3 key, and without a host key it would go to whatever answers at `host`.
   */
  hostKey: pulumi.Input<string>;
  /** The env block to merge (`KEY=value` lines, values already quoted for dotenv). Secret. */
  envBlock: pulumi.Input<string>;
  /**
   * The end-to-end media check. The push waits for it, so Mastodon is switched only to a media host (and key)
   * proven to work. Required.
   */
  mediaCheck: pulumi.Resource;
  /** The media host Mastodon will use (`files.example.social`, no scheme): copied media must be served there. */
  mediaHost: string;
  /** Bucket and e2 endpoint host, only for the copy command printed when local media is missing. */
  bucket: string;
  e2Endpoint: string;
  /**
   * Where Mastodon keeps media on the server's disk. Before the env file is touched, a random sample of the
   * files there is requested from `https://<mediaHost>/<path under it>`; a miss stops the push, with the copy
   * command. A missing or empty directory passes. `false`: no check. Default: `public/system` in the env
   * file's directory.
   */
  localMediaDir?: string | false;
}

/**
 * Keeps the S3 block in Mastodon's env file on its server equal to the stack's: one `Command` that runs, after
 * the media check, when the block, the scripts or the connection change. Destroying the stack (or turning the
 * push off) leaves the file as it is: taking the block out would break a running Mastodon.
 */
export class MastodonEnvPush extends pulumi.ComponentResource {
  /** The remote command. */
  public readonly command: Command;
  /**
   * What the last run printed: the local-media check's summary, the merge result ("unchanged" or "changed
   * <backup>") and the restart.
   */
  public readonly stdout: pulumi.Output<string>;

  constructor(name: string, args: MastodonEnvPushArgs, opts?: pulumi.ComponentResourceOptions) {
    const envFile = args.envFile ?? DEFAULT_ENV_FILE;
    const restart = args.restart ?? DEFAULT_RESTART;
    const localMediaDir =
      args.localMediaDir === false ? undefined : (args.localMediaDir ?? defaultLocalMediaDir(envFile));
    const errors = [
      { propertyPath: "envFile", reason: envFileProblem(envFile) },
      { propertyPath: "restart", reason: restartProblem(restart) },
      {
        propertyPath: "hostKey",
        reason:
          args.hostKey === undefined || args.hostKey === ""
            ? "is required: without it the SSH connection trusts whatever answers and hands it Mastodon's key"
            : undefined,
      },
      {
        propertyPath: "mediaCheck",
        reason: args.mediaCheck ? undefined : "is required: the push runs only after the media check passed",
      },
      {
        propertyPath: "localMediaDir",
        // Checked when given; the default derives from envFile, whose own problem is reported above.
        reason: typeof args.localMediaDir === "string" ? envFileProblem(args.localMediaDir) : undefined,
      },
    ].filter((e): e is { propertyPath: string; reason: string } => e.reason !== undefined);
    if (errors.length > 0) {
      throw new pulumi.InputPropertiesError({
        message: `invalid arguments for MastodonEnvPush ${name}`,
        errors,
      });
    }
    const script = buildEnvPushCommand({
      envFile,
      restart,
      mergeScript: readMergeEnvScript(),
      ...(localMediaDir === undefined
        ? {}
        : {
            localMediaDir,
            checkScript: readCheckLocalMediaScript(),
            mediaBaseUrl: `https://${args.mediaHost}`,
            bucket: args.bucket,
            e2Endpoint: args.e2Endpoint,
          }),
    });

    super("mastodon-media:mastodon:EnvPush", name, {}, opts);

    // dependsOn given to the component is not inherited by its children: pass it on, with the media check.
    const extra = opts?.dependsOn;
    const dependsOn: pulumi.CustomResourceOptions["dependsOn"] =
      extra === undefined
        ? [args.mediaCheck]
        : Array.isArray(extra)
          ? [args.mediaCheck, ...(extra as pulumi.Input<pulumi.Resource>[])]
          : pulumi.Resource.isInstance(extra)
            ? [args.mediaCheck, extra]
            : pulumi
                .output(extra as pulumi.Input<pulumi.Resource[]>)
                .apply((d) => [args.mediaCheck, ...([] as pulumi.Resource[]).concat(d)]);
    this.command = new Command(
      `${name}-merge`,
      {
        connection: {
          host: args.host,
          user: args.user,
          port: args.port ?? 22,
          privateKey: pulumi.secret(args.privateKey),
          hostKey: args.hostKey,
        },
        create: script,
        // Same script on every change: it checks, merges idempotently and restarts only when something changed.
        update: script,
        stdin: pulumi.secret(args.envBlock),
        // Off: these ride on SSH's setenv, which servers refuse without AcceptEnv, and the script needs neither.
        addPreviousOutputInEnv: false,
        // The scripts print file names, key names, status codes and restart output, never values.
        logging: "stdoutAndStderr",
      },
      { parent: this, dependsOn, additionalSecretOutputs: ["stdin"] },
    );
    this.stdout = this.command.stdout;
    this.registerOutputs({ stdout: this.stdout });
  }
}
