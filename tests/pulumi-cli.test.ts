// runPulumi (tools/pulumi-cli.ts) and the operator commands built on it, against a stand-in `pulumi` that refuses
// the way the real CLI refuses (tests/support/pulumi-stand-in.ts): without a terminal, with a terminal (a real
// pseudo-terminal from util-linux `script`), and with the CLI's other errors.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PASSPHRASE_REFUSAL } from "../tools/pulumi-cli";
import { writePulumiStandIn } from "./support/pulumi-stand-in";
import { which } from "./support/which";

const PASSPHRASE = "correct horse battery staple";
const TOKEN = "cf-token-never-printed-0123456789";
const EXPORTED = {
  version: 3,
  deployment: { resources: [{ urn: "urn:pulumi:prod::m::pulumi:pulumi:Stack::m" }] },
};
const ROOT = join(__dirname, "..");

// Prints runPulumi's answer for `stack export --show-secrets --stack <argv[1]>`, or its error's message.
const DRIVER = `
const { runPulumi, PulumiCliError } = require(${JSON.stringify(join(ROOT, "tools", "pulumi-cli.ts"))});
try {
  process.stdout.write("EXPORT:" + runPulumi(["stack", "export", "--show-secrets"], process.argv[1]));
} catch (e) {
  if (!(e instanceof PulumiCliError)) throw e;
  process.stderr.write("FAILED: " + e.message + "\\n");
  process.exitCode = 1;
}
`;

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

let dir: string;

function env(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const {
    NODE_OPTIONS: _options,
    PULUMI_CONFIG_PASSPHRASE: _p,
    PULUMI_CONFIG_PASSPHRASE_FILE: _f,
    CLOUDFLARE_API_TOKEN: _t,
    ...inherited
  } = process.env;
  return { ...inherited, PATH: `${dir}${delimiter}${process.env.PATH}`, ...extra };
}

/** Runs `argv` with no terminal (stdin closed, stdout and stderr pipes), as CI or a redirect would. */
function run(argv: string[], extra: NodeJS.ProcessEnv = {}): Promise<Result> {
  const child = spawn(argv[0]!, argv.slice(1), {
    cwd: ROOT,
    env: env(extra),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

const driver = (stack: string) => [process.execPath, "--import", "tsx", "-e", DRIVER, stack];

before(() => {
  dir = mkdtempSync(join(tmpdir(), "pulumi-cli-"));
  writePulumiStandIn(dir, {
    prod: {
      passphrase: PASSPHRASE,
      exported: EXPORTED,
      outputs: { mediaHost: "files.example.social", zoneId: "0123456789abcdef0123456789abcdef" },
      secretConfig: { "cloudflare:apiToken": TOKEN },
    },
    cloud: { exported: EXPORTED, outputs: { mediaHost: "files.example.social", zoneId: "0".repeat(32) } },
  });
});
after(() => rmSync(dir, { recursive: true, force: true }));

describe("runPulumi without a terminal", () => {
  it("a passphrase-protected stack and no passphrase: names both variables and keeps the CLI's own text", async () => {
    const r = await run(driver("prod"));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /needs the stack's passphrase .* no terminal is attached/);
    assert.match(
      r.stderr,
      /PULUMI_CONFIG_PASSPHRASE to it, or PULUMI_CONFIG_PASSPHRASE_FILE to a file holding it/,
    );
    assert.ok(
      r.stderr.includes(
        `error: could not deserialize deployment: constructing secrets manager: ${PASSPHRASE_REFUSAL}`,
      ),
      r.stderr,
    );
    assert.ok(!r.stdout.includes("EXPORT:"));
  });

  it("PULUMI_CONFIG_PASSPHRASE or PULUMI_CONFIG_PASSPHRASE_FILE reach the CLI through its environment", async () => {
    const direct = await run(driver("prod"), { PULUMI_CONFIG_PASSPHRASE: PASSPHRASE });
    assert.equal(direct.code, 0, direct.stderr);
    assert.deepEqual(JSON.parse(direct.stdout.slice("EXPORT:".length)), EXPORTED);
    const file = join(dir, "passphrase.txt");
    writeFileSync(file, `${PASSPHRASE}\n`, { mode: 0o600 });
    const fromFile = await run(driver("prod"), { PULUMI_CONFIG_PASSPHRASE_FILE: file });
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.ok(
      !readFileSync(join(dir, "calls.txt"), "utf8").includes(PASSPHRASE),
      "passphrase in the arguments",
    );
  });

  it("a wrong passphrase is reported with the CLI's words, not as a missing one, and never echoed", async () => {
    const wrong = "not-the-passphrase";
    const r = await run(driver("prod"), { PULUMI_CONFIG_PASSPHRASE: wrong });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed \(exit code 1\); the Pulumi CLI said:\nerror: .*incorrect passphrase/);
    assert.doesNotMatch(r.stderr, /no terminal is attached/);
    assert.ok(!r.stderr.includes(wrong));
  });

  it("a stack the CLI cannot find is reported as that, with its exit code", async () => {
    const r = await run(driver("prdo"));
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /`pulumi stack export --show-secrets --stack prdo` failed \(exit code 6\); the Pulumi CLI said:\nerror: no stack named 'prdo' found/,
    );
  });

  it("a stack that needs no passphrase is read without asking", async () => {
    const r = await run(driver("cloud"));
    assert.equal(r.code, 0, r.stderr);
  });
});

describe("the operator commands report the CLI's refusal, not a wrong cause", () => {
  const purge = (args: string[], extra: NodeJS.ProcessEnv = {}) =>
    run([process.execPath, "--import", "tsx", join("tools", "purge.ts"), ...args], extra);
  const url = "https://files.example.social/accounts/avatars/000/000/001/original/a.png";

  it("cname-bundle without a terminal names the passphrase variables", async () => {
    const r = await run([
      process.execPath,
      "--import",
      "tsx",
      join("tools", "cname-bundle.ts"),
      "--stack",
      "prod",
    ]);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      /^cname-bundle: `pulumi stack export --show-secrets --stack prod` needs the stack's passphrase/,
    );
    assert.ok(r.stderr.includes(PASSPHRASE_REFUSAL));
    assert.equal(r.stdout, "");
  });

  it("purge: a token sealed by a passphrase it lacks is not reported as a missing token", async () => {
    const r = await purge(["--stack", "prod", url]);
    assert.equal(r.code, 1);
    assert.doesNotMatch(r.stderr, /no Cloudflare API token/);
    assert.match(
      r.stderr,
      /^purge: `pulumi config get cloudflare:apiToken --stack prod` needs the stack's passphrase/,
    );
    assert.ok(r.stderr.includes(`error: ${PASSPHRASE_REFUSAL}`));
    assert.ok(!r.stderr.includes(TOKEN));
  });

  it("purge: a stack the CLI cannot find is reported as that", async () => {
    const r = await purge(["--stack", "prdo", url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /error: no stack named 'prdo' found/);
    assert.doesNotMatch(r.stderr, /no Cloudflare API token/);
  });

  it("purge: a stack without cloudflare:apiToken is the one case reported as no token", async () => {
    const r = await purge(["--stack", "cloud", url]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^purge: no Cloudflare API token: export CLOUDFLARE_API_TOKEN/);
  });
});

const script = which("script");
describe(
  `runPulumi with a terminal${script ? "" : " (skipped: util-linux `script` is not installed)"}`,
  { skip: !script },
  () => {
    /** Runs the driver inside a pseudo-terminal; types `typed` once the prompt shows. */
    function inTerminal(stack: string, typed: string): Promise<Result> {
      const command = driver(stack)
        .map((a) => `'${a.replace(/'/g, `'\\''`)}'`)
        .join(" ");
      const child = spawn(script!, ["-qec", command, "/dev/null"], {
        cwd: ROOT,
        env: env(),
        stdio: ["pipe", "pipe", "pipe"],
      });
      let stdout = "";
      let stderr = "";
      let typedYet = false;
      child.stdout.on("data", (c: Buffer) => {
        stdout += c.toString();
        if (!typedYet && stdout.includes("to skip this): ")) {
          typedYet = true;
          child.stdin.write(typed);
        }
      });
      child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
      child.stdin.on("error", () => {});
      return new Promise((resolve, reject) => {
        child.on("error", reject);
        child.on("close", (code) => resolve({ code, stdout, stderr }));
      });
    }

    it("asks on the terminal, without echo, and hands the passphrase to the CLI in its environment", async () => {
      const r = await inTerminal("prod", `${PASSPHRASE}\r`);
      assert.equal(r.code, 0, `${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /Enter the passphrase of stack prod \(the one `pulumi stack init` asked for/);
      assert.ok(r.stdout.includes(`EXPORT:${JSON.stringify(EXPORTED)}`), r.stdout);
      assert.ok(!r.stdout.includes(PASSPHRASE), "the passphrase was echoed");
    });

    it("a wrong passphrase typed there is reported with the CLI's words", async () => {
      const r = await inTerminal("prod", "wrong\r");
      assert.equal(r.code, 1);
      assert.match(
        r.stdout,
        /FAILED: .*failed \(exit code 1\); the Pulumi CLI said:\r?\nerror: .*incorrect passphrase/,
      );
      assert.ok(!r.stdout.includes("wrong"), "the typed passphrase was echoed or printed");
    });

    it("Ctrl-C at the prompt stops with a message, running nothing more", async () => {
      const r = await inTerminal("prod", "\u0003");
      assert.equal(r.code, 1);
      assert.match(r.stdout, /FAILED: no passphrase entered for stack prod/);
    });
  },
);
