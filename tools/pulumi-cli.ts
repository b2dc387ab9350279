// The one way the operator commands (cname-bundle, purge, migrate) ask the Pulumi CLI about a stack.
//
// Why this exists: with `pulumi login --local` (or any self-managed backend) a stack's secrets are sealed by the
// passphrase `pulumi stack init` asked for. The CLI reads it from PULUMI_CONFIG_PASSPHRASE or
// PULUMI_CONFIG_PASSPHRASE_FILE, and prompts for it only when both its standard input AND its standard output
// are terminals (pulumi/pulumi sdk/go/common/util/cmdutil/console.go `InteractiveTerminal`; the prompt itself is
// written to standard output, pkg/secrets/passphrase/manager.go `readPassphrase`). Our tools capture the CLI's
// standard output, so the CLI can never prompt for them; without a passphrase it refuses with
// PASSPHRASE_REFUSAL (below). So:
//   - the CLI runs once as it is, with the operator's environment;
//   - when it refuses for lack of a passphrase and a terminal is attached, we ask for the passphrase on the
//     terminal (no echo) and run it again with PULUMI_CONFIG_PASSPHRASE in its environment only (never in its
//     arguments, never on disk);
//   - when no terminal is attached, the error names PULUMI_CONFIG_PASSPHRASE / PULUMI_CONFIG_PASSPHRASE_FILE;
//   - any other failure is reported with the CLI's own last lines of stderr, never replaced by a guessed cause.
//
// Not run here against the real CLI (none on this machine): tests use a stand-in `pulumi` that refuses with the
// CLI's exact text.
import { spawnSync } from "node:child_process";
import { isatty } from "node:tty";

/**
 * The CLI's error when it needs the passphrase and cannot prompt (pkg/secrets/passphrase/manager.go,
 * `readPassphrase`, pulumi/pulumi as of 2026-08; it is printed after `error: ` and wrapped by the command, e.g.
 * `could not deserialize deployment: constructing secrets manager: ...` for `stack export --show-secrets`).
 */
export const PASSPHRASE_REFUSAL =
  "passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables";

/** Time allowed for one CLI call (it may fetch state from a remote backend). */
const CLI_TIMEOUT_MS = 120_000;
/** Largest output accepted from the CLI, in bytes (a stack export of a big stack). */
const CLI_MAX_BYTES = 512 * 1024 * 1024;
/** How many of the CLI's last stderr lines go into an error message. */
const STDERR_LINES = 6;

/** The CLI failed; the message says which command, why, and carries the CLI's own last lines of stderr. */
export class PulumiCliError extends Error {
  constructor(
    message: string,
    /** The CLI's own last lines of stderr (empty when it never ran). */
    readonly cliMessage = "",
    /** True when the CLI refused because it had no passphrase. */
    readonly needsPassphrase = false,
  ) {
    super(message);
  }
}

/** The passphrase typed at our prompt, kept for the later calls of the same command (never written anywhere). */
let typedPassphrase: string | undefined;

/** Last non-empty lines of the CLI's stderr, without terminal colour codes. */
export function lastLines(stderr: string, count = STDERR_LINES): string {
  return stderr
    .replace(/\x1b\[[0-9;]*m/g, "") // eslint-disable-line no-control-regex -- ANSI colour codes
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== "")
    .slice(-count)
    .join("\n");
}

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: NodeJS.ErrnoException;
}

function spawnPulumi(args: string[], passphrase: string | undefined): Run {
  const result = spawnSync("pulumi", args, {
    encoding: "utf8",
    maxBuffer: CLI_MAX_BYTES,
    timeout: CLI_TIMEOUT_MS,
    stdio: ["ignore", "pipe", "pipe"],
    env: {
      // The operator's environment: the CLI needs their login (PULUMI_BACKEND_URL, PULUMI_ACCESS_TOKEN, cloud
      // credentials of an s3:// backend, HOME) and their passphrase variables.
      ...process.env,
      // No "a new version is available" notice: it would become the last lines of stderr.
      PULUMI_SKIP_UPDATE_CHECK: "true",
      ...(passphrase !== undefined ? { PULUMI_CONFIG_PASSPHRASE: passphrase } : {}),
    },
  });
  return {
    status: result.status,
    stdout: result.stdout ?? "",
    stderr: result.stderr ?? "",
    error: result.error as NodeJS.ErrnoException | undefined,
  };
}

// Runs in a separate Node process whose standard input is the operator's terminal: raw mode (set before the
// prompt appears) so that nothing typed is echoed; the passphrase leaves on standard output (a pipe to us). Ctrl-C exits 130.
const PROMPT_SCRIPT = `
const input = process.stdin;
input.setRawMode(true);
process.stderr.write(process.env.MASTODON_MEDIA_PROMPT);
input.resume();
let typed = [];
const done = (code) => {
  input.setRawMode(false);
  process.stderr.write("\\n");
  if (code === 0) process.stdout.write(typed.join(""));
  process.exit(code);
};
input.on("data", (chunk) => {
  for (const ch of chunk.toString("utf8")) {
    if (ch === "\\r" || ch === "\\n") return done(0);
    if (ch === "\\u0003") return done(130);
    if (ch === "\\u0004") return done(typed.length === 0 ? 1 : 0);
    if (ch === "\\u007f" || ch === "\\b") typed.pop();
    else typed.push(ch);
  }
});
`;

function promptForPassphrase(stack: string | undefined): string {
  const which = stack ? `stack ${stack}` : "the selected stack";
  const result = spawnSync(process.execPath, ["-e", PROMPT_SCRIPT], {
    encoding: "utf8",
    stdio: ["inherit", "pipe", "inherit"],
    env: {
      MASTODON_MEDIA_PROMPT:
        `Enter the passphrase of ${which} (the one \`pulumi stack init\` asked for; set ` +
        "PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE to skip this): ",
    },
  });
  if (result.status !== 0) {
    throw new PulumiCliError(
      `no passphrase entered for ${which}: nothing was read (set PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE, or type it at the prompt)`,
      "",
      true,
    );
  }
  return result.stdout;
}

function failure(command: string, run: Run): PulumiCliError {
  if (run.error?.code === "ENOENT") return new PulumiCliError("the Pulumi CLI (`pulumi`) is not on PATH");
  if (run.error?.code === "ETIMEDOUT") {
    return new PulumiCliError(
      `\`${command}\` did not finish within ${CLI_TIMEOUT_MS / 1000} s (is the backend reachable?)`,
      lastLines(run.stderr),
    );
  }
  const said = lastLines(run.stderr);
  const how = run.status !== null ? `exit code ${run.status}` : (run.error?.message ?? "no exit code");
  return new PulumiCliError(
    `\`${command}\` failed (${how})${said ? `; the Pulumi CLI said:\n${said}` : ""}`,
    said,
  );
}

/**
 * Runs `pulumi <args> [--stack <stack>]` and returns its standard output. Throws a PulumiCliError naming the
 * command and carrying the CLI's own last lines of stderr. See the file comment for the passphrase.
 */
export function runPulumi(args: string[], stack?: string): string {
  const argv = [...args, ...(stack ? ["--stack", stack] : [])];
  const command = `pulumi ${argv.join(" ")}`;
  let run = spawnPulumi(argv, typedPassphrase);
  if (run.status === 0 && !run.error) return run.stdout;
  if (!run.stderr.includes(PASSPHRASE_REFUSAL)) throw failure(command, run);

  // The stack is sealed by a passphrase and the CLI had none.
  if (!isatty(0)) {
    const said = lastLines(run.stderr);
    throw new PulumiCliError(
      `\`${command}\` needs the stack's passphrase (the one \`pulumi stack init\` asked for) and no terminal ` +
        "is attached to ask for it: set PULUMI_CONFIG_PASSPHRASE to it, or PULUMI_CONFIG_PASSPHRASE_FILE to a " +
        `file holding it. The Pulumi CLI said:\n${said}`,
      said,
      true,
    );
  }
  const passphrase = promptForPassphrase(stack);
  run = spawnPulumi(argv, passphrase);
  if (run.status === 0 && !run.error) {
    typedPassphrase = passphrase;
    return run.stdout;
  }
  throw failure(command, run);
}
