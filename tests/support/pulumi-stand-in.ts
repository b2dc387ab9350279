// A stand-in `pulumi` executable for the operator commands' tests (no Pulumi CLI runs here). It answers the
// three calls the tools make, for the stacks it is given, and refuses the way the real CLI refuses:
// - a stack that does not exist: "error: no stack named '<name>' found", exit 6
//   (pkg/backend/backenderr/backenderr.go StackNotFoundError; ExitStackNotFound in pkg/cmd/pulumi/cmd/exit_codes.go);
// - a secret to decrypt without a passphrase: the CLI never prompts when its stdout is not a terminal
//   (sdk/go/common/util/cmdutil/console.go InteractiveTerminal), so it prints readPassphrase's error
//   (pkg/secrets/passphrase/manager.go) after "error: ", wrapped as each command wraps it, exit 1 (ExitCodeError;
//   CLIs before 3.227 exited 255);
// - a wrong passphrase: the locked secrets manager's "failed to decrypt: incorrect passphrase, ..." error;
// - `config get` of a key the stack lacks: "configuration key '<key>' not found for stack '<stack>'"
//   (pkg/cmd/pulumi/config/config.go getConfig), exit 1.
// `stack output --json` needs no passphrase (secrets are blinded, pkg/cmd/pulumi/stack/stack_output.go).
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface StandInStack {
  /** The stack's passphrase; undefined for a stack whose secrets need none (Pulumi Cloud). */
  passphrase?: string;
  /** What `pulumi stack export --show-secrets` prints. */
  exported?: unknown;
  /** What `pulumi stack output --json` prints. */
  outputs?: Record<string, unknown>;
  /** Secret config values `pulumi config get <key>` decrypts. */
  secretConfig?: Record<string, string>;
}

const shQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Writes `pulumi` into `dir` (put `dir` first on PATH); every call's arguments are appended to `calls.txt`. */
export function writePulumiStandIn(dir: string, stacks: Record<string, StandInStack>): void {
  const data = join(dir, "stand-in");
  mkdirSync(data, { recursive: true });
  const cases: string[] = [];
  for (const [name, stack] of Object.entries(stacks)) {
    const base = join(data, name);
    mkdirSync(base, { recursive: true });
    writeFileSync(join(base, "export.json"), JSON.stringify(stack.exported ?? {}));
    writeFileSync(join(base, "outputs.json"), JSON.stringify(stack.outputs ?? {}));
    if (stack.passphrase !== undefined) writeFileSync(join(base, "passphrase"), stack.passphrase);
    for (const [key, value] of Object.entries(stack.secretConfig ?? {})) {
      writeFileSync(join(base, `config-${key.replace(/[^A-Za-z0-9_.-]/g, "_")}`), value);
    }
    cases.push(`  ${shQuote(name)}) ;;`);
  }
  const script = `#!/bin/sh
data=${shQuote(data)}
printf '%s ' "$@" >> ${shQuote(join(dir, "calls.txt"))}; echo >> ${shQuote(join(dir, "calls.txt"))}
stack=""; prev=""
for a in "$@"; do [ "$prev" = "--stack" ] && stack="$a"; prev="$a"; done
[ -n "$stack" ] || stack=${shQuote(Object.keys(stacks)[0] ?? "dev")}
case "$stack" in
${cases.join("\n")}
  *) echo "error: no stack named '$stack' found" >&2; exit 6 ;;
esac
base="$data/$stack"

# unlock WRAP: the passphrase check the CLI makes before decrypting anything (WRAP: the command's prefix).
unlock() {
  [ -e "$base/passphrase" ] || return 0
  if [ -n "\${PULUMI_CONFIG_PASSPHRASE+set}" ]; then
    phrase="$PULUMI_CONFIG_PASSPHRASE"
  elif [ -n "$PULUMI_CONFIG_PASSPHRASE_FILE" ]; then
    if ! phrase="$(cat "$PULUMI_CONFIG_PASSPHRASE_FILE" 2>/dev/null)"; then
      echo "error: $1unable to read PULUMI_CONFIG_PASSPHRASE_FILE: open $PULUMI_CONFIG_PASSPHRASE_FILE: no such file or directory" >&2
      exit 1
    fi
    phrase="$(printf '%s' "$phrase" | sed -e 's/^[[:space:]]*//' -e 's/[[:space:]]*$//')"
  else
    echo "error: $1$2passphrase must be set with PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE environment variables" >&2
    exit 1
  fi
  if [ "$phrase" != "$(cat "$base/passphrase")" ]; then
    echo "error: $1$3failed to decrypt: incorrect passphrase, please set PULUMI_CONFIG_PASSPHRASE to the correct passphrase or set PULUMI_CONFIG_PASSPHRASE_FILE to a file containing the passphrase" >&2
    exit 1
  fi
}

case "$1 $2" in
  "stack export")
    case " $* " in *" --show-secrets "*)
      unlock "could not deserialize deployment: " "constructing secrets manager: " "decrypting secret value: " ;;
    esac
    cat "$base/export.json" ;;
  "stack output") cat "$base/outputs.json" ;;
  "config get")
    file="$base/config-$(printf '%s' "$3" | tr -c 'A-Za-z0-9_.-' '_')"
    if [ ! -e "$file" ]; then
      echo "error: configuration key '$3' not found for stack '$stack'" >&2
      exit 1
    fi
    unlock "" "" "could not decrypt configuration value: "
    cat "$file"; echo ;;
  *) echo "error: the stand-in does not know: $*" >&2; exit 2 ;;
esac
`;
  writeFileSync(join(dir, "pulumi"), script);
  chmodSync(join(dir, "pulumi"), 0o755);
}
