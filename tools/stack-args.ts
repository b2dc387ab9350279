// The one argument the operator commands take: `--stack <name>` (or `-s <name>`, `--stack=<name>`). Anything
// else is a usage error, so that a typo never silently falls back to another stack.

/** Bad command-line arguments; the message ends with the command's usage. */
export class UsageError extends Error {}

/** Parses `argv` (after the script name); `usage` is the command line shown in errors. */
export function parseStackArgs(argv: string[], usage: string): { stack?: string } {
  const fail = (problem: string): never => {
    throw new UsageError(`${problem}; usage: ${usage}`);
  };
  let stack: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--stack" || arg === "-s") {
      stack = argv[++i];
      if (!stack || stack.startsWith("-")) fail(`${arg} needs a stack name`);
    } else if (arg.startsWith("--stack=")) {
      stack = arg.slice("--stack=".length);
      if (!stack) fail("--stack= needs a stack name");
    } else {
      fail(`unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return stack === undefined ? {} : { stack };
}
