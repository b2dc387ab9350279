// `npm test`: type check, lint (with the format check) and every test, side by side on the machine's two
// cores. Tests run in three processes with --test-isolation=none: the Pulumi SDK then loads three times instead
// of once per file, which halves their CPU time. Two processes take the tests that mostly wait on child
// processes and servers of their own (so their waits overlap), the third everything else. Prints one line per task as it ends and,
// for a failed task, its whole output; exits non-zero if any failed, naming which.
// The Node version is checked first, before anything that an old Node cannot run.
const { nodeVersionProblem } = require("./support/node-version.cjs");

const versionProblem = nodeVersionProblem(process.version);
if (versionProblem) {
  process.stderr.write(`${versionProblem}\n`);
  process.exit(1);
}

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const { finalReport, taskLine } = require("./support/npm-test-report.cjs");

const TESTS = __dirname;
// Tests that mostly wait on child processes and servers, in two groups that take about as long as each other;
// the S3 ones share one Ceph cluster per process, so they stay together.
const WAITING_ON_PROCESSES = [
  [
    "media-check",
    "media-check-multipart",
    "ceph-rgw",
    "e2-bucket-provider",
    "bucket-policy-rgw",
    "migrate",
    "migrate-host",
  ],
  // library-package starts a second Ceph cluster of its own in this process: it balances the two groups.
  [
    "pulumi-load",
    "e2-custom-domain",
    "mastodon-env-push",
    "merge-env",
    "cloudflare-rule",
    "purge",
    "pulumi-cli",
    "cname-bundle",
    "tls-probe",
    "library-package",
  ],
].map((group) => group.map((name) => `tests/${name}.test.ts`));
const allTests = fs
  .readdirSync(TESTS)
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => `tests/${f}`);
const inProcess = allTests.filter((f) => !WAITING_ON_PROCESSES.flat().includes(f));
const nodeTest = (files) => ["--import", "tsx", "--test", "--test-isolation=none", ...files];

const tasks = [
  ...WAITING_ON_PROCESSES.map((group, i) => [
    `tests (servers, ${i + 1})`,
    process.execPath,
    nodeTest(group.filter((f) => allTests.includes(f))),
  ]),
  ["tests (in process)", process.execPath, nodeTest(inProcess)],
  ["typecheck", "npm", ["run", "--silent", "typecheck"]],
  ["lint", "npm", ["run", "--silent", "lint"]],
];

function run([name, cmd, args]) {
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    child.stderr.on("data", (d) => (out += d));
    child.on("close", (code) => {
      const result = { name, code, out, seconds: (performance.now() - started) / 1000 };
      process.stdout.write(`${taskLine(result)}\n`);
      resolve(result);
    });
  });
}

process.stdout.write(`npm test on Node ${process.version}: ${tasks.map(([name]) => name).join(", ")}\n`);
Promise.all(tasks.map(run)).then((results) => {
  process.stdout.write(finalReport(results));
  process.exitCode = results.some((r) => r.code !== 0) ? 1 : 0;
});
