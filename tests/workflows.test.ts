// The GitHub Actions workflows, parsed: what the project relies on them to do (events, permissions, order of
// steps, where secrets go, the policy pack in previews, deploys that are never cancelled half-way). The
// stack-listing step's shell is run for real against sample files. GitHub's own expression evaluation and the
// actions themselves cannot run here; docs/ci.md lists what that leaves unverified.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { describe, test } from "node:test";
import YAML from "yaml";
import { MAX_TIMEOUT_SECONDS } from "../components/media-check-limits";
import { MAX_WAIT_SECONDS } from "../providers/e2-custom-domain";
import { HANG_LIMIT_MS } from "./support/hang-limit";

const ROOT = path.join(__dirname, "..");
const WORKFLOW_DIR = path.join(ROOT, ".github", "workflows");

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
}
interface Job {
  if?: string;
  environment?: string | { name: string; url?: string };
  "timeout-minutes"?: number;
  needs?: string | string[];
  permissions?: Record<string, string> | string;
  strategy?: { "fail-fast"?: boolean; "max-parallel"?: number; matrix?: Record<string, unknown> };
  concurrency?: { group: string; "cancel-in-progress"?: boolean } | string;
  outputs?: Record<string, string>;
  env?: Record<string, unknown>;
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string> | string;
  concurrency?: unknown;
  env?: Record<string, unknown>;
  jobs: Record<string, Job>;
}

const workflowFiles = readdirSync(WORKFLOW_DIR).filter((f) => /\.ya?ml$/.test(f));
const workflows = new Map(
  workflowFiles.map((f) => [f, YAML.parse(readFileSync(path.join(WORKFLOW_DIR, f), "utf8")) as Workflow]),
);
const pulumi = workflows.get("pulumi.yml")!;

const SECRETS = [
  "PULUMI_ACCESS_TOKEN",
  "PULUMI_BACKEND_URL",
  "PULUMI_CONFIG_PASSPHRASE",
  "CLOUDFLARE_API_TOKEN",
];

function needs(job: Job): string[] {
  return job.needs === undefined ? [] : ([] as string[]).concat(job.needs);
}

function stepIndex(job: Job, match: (s: Step) => boolean, what: string): number {
  const i = job.steps.findIndex(match);
  assert.notEqual(i, -1, `no step ${what}`);
  return i;
}

const isRun = (command: string) => (s: Step) => s.run?.trim() === command;
const isPulumi = (s: Step) => s.uses?.startsWith("pulumi/actions@") === true;

/** Every string in `value` with the path that leads to it. */
function* strings(value: unknown, at: string[] = []): Generator<[string[], string]> {
  if (typeof value === "string") yield [at, value];
  else if (Array.isArray(value)) for (const [i, v] of value.entries()) yield* strings(v, [...at, String(i)]);
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) yield* strings(v, [...at, k]);
}

describe("every workflow file", () => {
  test("there is at least the pulumi workflow, and every file parses", () => {
    assert.ok(workflowFiles.includes("pulumi.yml"), workflowFiles.join(", "));
    for (const [file, wf] of workflows) assert.equal(typeof wf.jobs, "object", file);
  });

  test("no workflow runs on pull_request_target (it would hand secrets to a fork's code)", () => {
    for (const [file, wf] of workflows) {
      assert.ok(!("pull_request_target" in wf.on), file);
      assert.doesNotMatch(readFileSync(path.join(WORKFLOW_DIR, file), "utf8"), /pull_request_target/, file);
    }
  });

  test("the workflow-wide token may only read the repository", () => {
    for (const [file, wf] of workflows) assert.deepEqual(wf.permissions, { contents: "read" }, file);
  });

  test("no job asks for more than reading, except pull-request comments in the preview job", () => {
    for (const [file, wf] of workflows) {
      for (const [name, job] of Object.entries(wf.jobs)) {
        if (job.permissions === undefined) continue;
        assert.equal(typeof job.permissions, "object", `${file} ${name}: no read-all/write-all shorthand`);
        const allowed: Record<string, string[]> = { contents: ["read"] };
        if (file === "pulumi.yml" && name === "preview") allowed["pull-requests"] = ["write"];
        for (const [scope, level] of Object.entries(job.permissions as Record<string, string>)) {
          assert.ok(allowed[scope]?.includes(level), `${file} ${name}: ${scope}: ${level}`);
        }
      }
    }
  });

  test("secrets appear only as ${{ secrets.NAME }} in a pulumi step's env, under their own name", () => {
    let seen = 0;
    for (const [file, wf] of workflows) {
      for (const [at, value] of strings(wf)) {
        if (!/secrets\./.test(value)) continue;
        seen++;
        const where = `${file}: ${at.join(".")}`;
        // jobs.<job>.steps.<i>.env.<NAME>
        assert.equal(at.length, 6, where);
        assert.deepEqual([at[0], at[2], at[4]], ["jobs", "steps", "env"], where);
        const name = at[5];
        assert.ok(SECRETS.includes(name), `${where}: unexpected secret`);
        assert.equal(value, `\${{ secrets.${name} }}`, where);
        const step = wf.jobs[at[1]].steps[Number(at[3])];
        assert.ok(isPulumi(step), `${where}: only the pulumi step gets credentials`);
      }
    }
    assert.ok(seen > 0, "the pulumi steps receive their credentials");
  });

  test("no run script mentions a credential variable, so none can print one", () => {
    for (const [file, wf] of workflows) {
      for (const [name, job] of Object.entries(wf.jobs)) {
        for (const step of job.steps.filter((s) => s.run !== undefined)) {
          for (const secret of SECRETS) assert.doesNotMatch(step.run!, new RegExp(secret), `${file} ${name}`);
        }
      }
    }
  });

  test("Node comes from actions/setup-node, version 22 or newer, with the npm cache", () => {
    let seen = 0;
    for (const [file, wf] of workflows) {
      for (const [name, job] of Object.entries(wf.jobs)) {
        for (const step of job.steps.filter((s) => s.uses?.startsWith("actions/setup-node@"))) {
          seen++;
          assert.ok(Number.parseInt(String(step.with?.["node-version"]), 10) >= 22, `${file} ${name}`);
          assert.equal(step.with?.cache, "npm", `${file} ${name}`);
        }
      }
    }
    assert.ok(seen > 0);
  });

  test("actions are pinned to a major version", () => {
    for (const [file, wf] of workflows) {
      for (const job of Object.values(wf.jobs)) {
        for (const step of job.steps.filter((s) => s.uses !== undefined)) {
          assert.match(step.uses!, /^[\w.-]+\/[\w.-]+@v\d+$/, file);
        }
      }
    }
  });
});

describe("pulumi.yml", () => {
  const { stacks, test: testJob, preview, deploy } = pulumi.jobs;

  test("it runs on pull requests and on pushes to main, nothing else", () => {
    assert.deepEqual(Object.keys(pulumi.on).sort(), ["pull_request", "push"]);
    assert.deepEqual((pulumi.on.push as { branches: string[] }).branches, ["main"]);
  });

  test("the test job runs bash .ci/run, which installs the test peers with root or sudo, then npm ci and npm test", () => {
    stepIndex(testJob, isRun("bash .ci/run"), "bash .ci/run");
    assert.equal(testJob.steps.filter((s) => s.run !== undefined).length, 1, "nothing else runs there");
    const ciRun = readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
    const lines = ciRun.split("\n").map((l) => l.trim());
    const ci = lines.findIndex((l) => l.startsWith("npm ci"));
    assert.ok(ci !== -1 && lines.indexOf("npm test") > ci, "npm ci, then npm test");
    for (const peer of ["openssh-server", "busybox", "gawk", "curl"])
      assert.match(ciRun, new RegExp(`install .*${peer}|${peer}.*>/dev/null`, "s"));
    assert.match(ciRun, /sudo -n/, "GitHub's runners are not root: apt-get goes through sudo");
    assert.match(ciRun, /CI:-\} == true/, "on CI a missing peer fails the run instead of skipping tests");
  });

  test("preview and deploy wait for the tests and install with npm ci before their pulumi step", () => {
    for (const job of [preview, deploy]) {
      assert.ok(needs(job).includes("test"));
      const ci = stepIndex(job, isRun("npm ci"), "npm ci");
      const pulumiStep = stepIndex(job, isPulumi, "pulumi/actions");
      assert.ok(ci < pulumiStep);
      assert.equal(job.steps.filter(isPulumi).length, 1);
    }
  });

  test("preview and deploy take their matrix from the stacks job, are skipped when it is empty, and do not fail fast", () => {
    for (const job of [preview, deploy]) {
      assert.ok(needs(job).includes("stacks"));
      assert.deepEqual(job.strategy?.matrix, { stack: "${{ fromJSON(needs.stacks.outputs.stacks) }}" });
      assert.match(job.if ?? "", /needs\.stacks\.outputs\.stacks != '\[\]'/);
      assert.equal(job.strategy?.["fail-fast"], false);
    }
    assert.equal(stacks.outputs?.stacks, "${{ steps.list.outputs.stacks }}");
  });

  test("preview runs only for pull requests: pulumi preview with the policy pack, commented on the PR", () => {
    assert.match(preview.if ?? "", /github\.event_name == 'pull_request'/);
    const step = preview.steps.find(isPulumi)!;
    assert.equal(step.with?.command, "preview");
    assert.equal(String(step.with?.["comment-on-pr"]), "true");
    assert.equal(step.with?.["github-token"], "${{ github.token }}");
    assert.deepEqual(
      String(step.with?.policyPacks)
        .split(/[\n,]/)
        .map((s) => s.trim())
        .filter(Boolean),
      ["policy"],
    );
    assert.match(String(step.with?.["stack-name"]), /matrix\.stack/);
    assert.deepEqual(preview.permissions, { contents: "read", "pull-requests": "write" });
  });

  test("the policy pack path resolves to the pack from the action's working directory", () => {
    const workDir = String(preview.steps.find(isPulumi)!.with?.["work-dir"] ?? "./");
    assert.ok(existsSync(path.join(ROOT, workDir, "policy", "PulumiPolicy.yaml")));
  });

  test("deploy runs only for pushes: pulumi up per stack with the policy pack", () => {
    assert.match(deploy.if ?? "", /github\.event_name == 'push'/);
    assert.doesNotMatch(deploy.if ?? "", /pull_request/);
    const step = deploy.steps.find(isPulumi)!;
    assert.equal(step.with?.command, "up");
    assert.equal(step.with?.policyPacks, "policy");
    assert.match(String(step.with?.["stack-name"]), /matrix\.stack/);
    assert.equal(
      deploy.permissions && (deploy.permissions as Record<string, string>)["pull-requests"],
      undefined,
    );
  });

  test("pulumi steps only transpile the program, and only in jobs that wait for the type-checking test job", () => {
    for (const job of [preview, deploy]) {
      assert.equal(job.steps.find(isPulumi)!.env?.PULUMI_NODEJS_TRANSPILE_ONLY, "true");
      assert.ok(needs(job).includes("test"));
    }
    assert.match(
      JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).scripts.typecheck,
      /^tsc --noEmit/,
    );
  });

  test("deploys are serialised per stack and a running one is never cancelled", () => {
    const concurrency = deploy.concurrency as { group: string; "cancel-in-progress": boolean };
    assert.match(concurrency.group, /\$\{\{ matrix\.stack \}\}/);
    assert.doesNotMatch(concurrency.group, /github\.(sha|run_id|ref)/, "one group per stack, not per run");
    assert.equal(concurrency["cancel-in-progress"], false);
    // A workflow-level group that cancels would reach the deploy jobs too.
    const top = pulumi.concurrency as { "cancel-in-progress"?: boolean } | undefined;
    assert.ok(top === undefined || top["cancel-in-progress"] !== true);
  });

  test("checkouts do not leave the token in the work tree", () => {
    for (const job of Object.values(pulumi.jobs)) {
      for (const step of job.steps.filter((s) => s.uses?.startsWith("actions/checkout@"))) {
        assert.equal(step.with?.["persist-credentials"], false);
      }
    }
  });
});

describe("the stack-listing step, run with bash", () => {
  const script = pulumi.jobs.stacks.steps.find((s) => s.id === "list")?.run ?? "";

  function listStacks(files: string[]) {
    const dir = mkdtempSync(path.join(tmpdir(), "stacks-"));
    try {
      for (const f of files) writeFileSync(path.join(dir, f), "config: {}\n");
      const output = path.join(dir, "github-output");
      writeFileSync(output, "");
      const result = spawnSync("bash", ["-c", script], {
        cwd: dir,
        env: { PATH: process.env.PATH, GITHUB_OUTPUT: output },
        encoding: "utf8",
        timeout: HANG_LIMIT_MS,
      });
      const lines = readFileSync(output, "utf8").split("\n").filter(Boolean);
      return { status: result.status, stdout: result.stdout, lines };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  function matrix(lines: string[]): unknown {
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], /^stacks=/);
    return JSON.parse(lines[0].slice("stacks=".length));
  }

  test("it was found in the workflow", () => {
    assert.match(script, /GITHUB_OUTPUT/);
  });

  test("it lists each instance's stack, sorted, leaving out Pulumi.yaml and the example stack", () => {
    const { status, lines } = listStacks([
      "Pulumi.yaml",
      "Pulumi.example.yaml",
      "Pulumi.dev.yaml",
      "Pulumi.staging.yaml",
      "Pulumi.prod.yaml",
      "Pulumi.eu-west.social_2.yaml",
      "README.md",
    ]);
    assert.equal(status, 0);
    assert.deepEqual(matrix(lines), ["dev", "eu-west.social_2", "prod", "staging"]);
  });

  test("it prints an empty matrix when only the example stack exists", () => {
    const { status, lines } = listStacks(["Pulumi.yaml", "Pulumi.example.yaml"]);
    assert.equal(status, 0);
    assert.deepEqual(matrix(lines), []);
  });

  test("it prints an empty matrix when there is no stack file at all", () => {
    const { status, lines } = listStacks([]);
    assert.equal(status, 0);
    assert.deepEqual(matrix(lines), []);
  });

  test("it stops with an error naming the file when a stack name could break the matrix JSON", () => {
    const { status, stdout, lines } = listStacks(["Pulumi.prod.yaml", 'Pulumi.a"b.yaml']);
    assert.notEqual(status, 0);
    assert.match(stdout, /::error file=Pulumi\.a"b\.yaml::/);
    assert.deepEqual(lines, []);
  });
});

/**
 * Evaluates the subset of GitHub's expression syntax the workflow's `if:` conditions use: clauses joined by
 * `&&`, each `<context path or 'string'> ==|!= <context path or 'string'>`. Strings compare case-insensitively,
 * as GitHub's do. Anything else throws, so a condition this cannot read fails the test instead of passing it.
 */
function evaluateIf(expression: string, context: Record<string, string>): boolean {
  return expression.split("&&").every((clause) => {
    const m = /^\s*(\S+)\s*(==|!=)\s*(\S+)\s*$/.exec(clause);
    if (!m) throw new Error(`cannot evaluate clause: ${clause}`);
    const value = (operand: string): string => {
      const literal = /^'(.*)'$/.exec(operand);
      if (literal) return literal[1].toLowerCase();
      if (!(operand in context)) throw new Error(`unknown context value ${operand}`);
      return context[operand].toLowerCase();
    };
    return (value(m[1]) === value(m[3])) === (m[2] === "==");
  });
}

describe("pulumi.yml: environments, time-outs, Dependabot", () => {
  const { preview, deploy } = pulumi.jobs;
  const envName = (job: Job) =>
    typeof job.environment === "object" ? job.environment.name : job.environment;

  test("deploys take their secrets from the production environment, previews from their own preview environment", () => {
    assert.equal(envName(deploy), "production");
    assert.equal(envName(preview), "preview");
    for (const [name, job] of Object.entries(pulumi.jobs)) {
      if (job !== deploy && job !== preview)
        assert.equal(job.environment, undefined, `${name} needs no secrets`);
    }
  });

  test("every job that reads a secret runs in an environment, so no repository-wide secret is needed", () => {
    let seen = 0;
    for (const [name, job] of Object.entries(pulumi.jobs)) {
      const readsSecrets = [...strings(job)].some(([, v]) => /secrets\./.test(v));
      if (!readsSecrets) continue;
      seen++;
      assert.ok(envName(job), `${name} reads secrets outside an environment`);
    }
    assert.equal(seen, 2);
  });

  test("every job has a time-out, within GitHub's 360-minute cap", () => {
    for (const [name, job] of Object.entries(pulumi.jobs)) {
      const minutes = job["timeout-minutes"];
      assert.ok(Number.isInteger(minutes) && minutes! >= 1 && minutes! <= 360, `${name}: ${minutes}`);
    }
  });

  test("the deploy time-out covers the longest custom-domain wait, then the longest media check, with room to spare", () => {
    // The wait and the check run one after the other (custom domain -> media check -> env push).
    const chain = Math.ceil((MAX_WAIT_SECONDS + MAX_TIMEOUT_SECONDS) / 60);
    // The env push's local-media check: 20 requests, two tries of 15 s each, at worst.
    const push = Math.ceil((20 * 2 * 15) / 60);
    assert.ok(
      deploy["timeout-minutes"]! >= chain + push + 30,
      `${deploy["timeout-minutes"]} < ${chain + push + 30}`,
    );
  });

  test("a preview, which waits for nothing, gets a shorter time-out than a deploy but room for installs", () => {
    assert.ok(preview["timeout-minutes"]! >= 15);
    assert.ok(preview["timeout-minutes"]! < deploy["timeout-minutes"]!);
  });

  const pr = {
    "github.event_name": "pull_request",
    "github.actor": "octocat",
    "needs.stacks.outputs.stacks": '["prod"]',
    "github.event.pull_request.head.repo.full_name": "owner/repo",
    "github.repository": "owner/repo",
  };

  test("the preview runs for a pull request from this repository (control for the cases below)", () => {
    assert.equal(evaluateIf(preview.if!, pr), true);
  });

  test("Dependabot's pull requests skip the preview instead of failing for want of secrets", () => {
    assert.equal(evaluateIf(preview.if!, { ...pr, "github.actor": "dependabot[bot]" }), false);
    assert.equal(evaluateIf(preview.if!, { ...pr, "github.actor": "Dependabot[bot]" }), false);
  });

  test("forks' pull requests, pushes and an empty stack list skip the preview", () => {
    assert.equal(
      evaluateIf(preview.if!, { ...pr, "github.event.pull_request.head.repo.full_name": "fork/repo" }),
      false,
    );
    assert.equal(evaluateIf(preview.if!, { ...pr, "github.event_name": "push" }), false);
    assert.equal(evaluateIf(preview.if!, { ...pr, "needs.stacks.outputs.stacks": "[]" }), false);
  });

  test("deploys run for pushes with stacks only", () => {
    const push = { "github.event_name": "push", "needs.stacks.outputs.stacks": '["prod"]' };
    assert.equal(evaluateIf(deploy.if!, push), true);
    assert.equal(evaluateIf(deploy.if!, { ...push, "github.event_name": "pull_request" }), false);
    assert.equal(evaluateIf(deploy.if!, { ...push, "needs.stacks.outputs.stacks": "[]" }), false);
  });

  test("the expression reader refuses what it cannot evaluate (so a changed condition cannot pass unread)", () => {
    assert.throws(() => evaluateIf("github.event_name == 'push' || true", {}), /cannot evaluate|unknown/);
    assert.throws(() => evaluateIf("github.nope == 'x'", {}), /unknown context value/);
  });
});

describe(".ci/run's test-peer step, run with bash against stubs", () => {
  // The step between its comment and `npm ci`, with the peer paths pointed into a temporary directory and
  // id, sudo and apt-get stubbed on PATH (apt-get "installs" by creating the peer files). What is tested is the
  // decision: who installs, and whether a missing peer fails the run.
  const ciRun = readFileSync(path.join(ROOT, ".ci", "run"), "utf8");
  const step = ciRun.slice(ciRun.indexOf("# Test peers"), ciRun.indexOf("npm ci --no-audit"));
  const PEERS = [
    "/usr/sbin/sshd",
    "/bin/busybox",
    "/usr/bin/gawk",
    "/usr/bin/curl",
    "/usr/bin/ceph-mon",
    "/usr/bin/ceph-osd",
    "/usr/bin/radosgw",
    "/usr/bin/rclone",
  ];

  function runStep(opts: { uid: number; sudo: boolean; ci: boolean; aptWorks: boolean }) {
    const dir = mkdtempSync(path.join(tmpdir(), "ci-run-"));
    try {
      const bin = path.join(dir, "bin");
      const fake = (p: string) => path.join(dir, "root", p);
      const log = path.join(dir, "calls.log");
      const script = PEERS.reduce((text, p) => text.replaceAll(p, fake(p)), step);
      const stub = (name: string, body: string) =>
        writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >> '${log}'\n${body}\n`, {
          mode: 0o755,
        });
      for (const d of [bin, ...PEERS.map((p) => path.dirname(fake(p)))]) mkdirSync(d, { recursive: true });
      // Only the stubs and `install` are on PATH: the machine's own sudo and apt-get must never be reached.
      for (const tool of ["install", "env"]) symlinkSync(`/usr/bin/${tool}`, path.join(bin, tool));
      stub("id", `echo ${opts.uid}`);
      if (opts.sudo) stub("sudo", '[ "$1" = -n ] && shift; [ "$1" = true ] && exit 0; exec "$@"');
      const install = PEERS.map((p) => `install -m 755 /dev/null '${fake(p)}'`).join("; ");
      stub("apt-get", opts.aptWorks ? `case "$*" in *install*) ${install};; esac` : "exit 100");
      const result = spawnSync("/bin/bash", ["-c", `set -euo pipefail\n${script}`], {
        env: { PATH: bin, HOME: dir, ...(opts.ci ? { CI: "true" } : {}) },
        // Not a socket on stdin: Debian's bash would take that for rshd and read ~/.bashrc.
        stdio: ["ignore", "pipe", "pipe"],
        encoding: "utf8",
        timeout: HANG_LIMIT_MS,
      });
      const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
      return { status: result.status, out: result.stdout + result.stderr, calls };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  test("it found the step", () => assert.match(step, /apt-get install/));

  test("on a runner that is not root, it installs the peers through sudo -n", () => {
    const r = runStep({ uid: 1001, sudo: true, ci: true, aptWorks: true });
    assert.equal(r.status, 0, r.out);
    assert.ok(r.calls.includes("sudo -n apt-get update -qq"), r.calls.join("\n"));
    assert.ok(
      r.calls.some((c) => /^apt-get install .*openssh-server busybox gawk curl/.test(c)),
      r.calls.join("\n"),
    );
  });

  test("as root it runs apt-get directly", () => {
    const r = runStep({ uid: 0, sudo: false, ci: true, aptWorks: true });
    assert.equal(r.status, 0, r.out);
    assert.ok(r.calls.includes("apt-get update -qq"), r.calls.join("\n"));
    assert.ok(!r.calls.some((c) => c.startsWith("sudo")));
  });

  test("on CI a peer that cannot be installed fails the run instead of skipping its tests", () => {
    const noSudo = runStep({ uid: 1001, sudo: false, ci: true, aptWorks: true });
    assert.equal(noSudo.status, 1);
    assert.match(noSudo.out, /CI=true: a test peer is missing/);
    const aptFails = runStep({ uid: 0, sudo: false, ci: true, aptWorks: false });
    assert.equal(aptFails.status, 1);
  });

  test("outside CI a missing peer only skips its tests", () => {
    const r = runStep({ uid: 1001, sudo: false, ci: false, aptWorks: true });
    assert.equal(r.status, 0, r.out);
    assert.match(r.out, /their tests will be skipped/);
  });
});
