// `npm test`: type check, lint (with the format check) and every test, side by side on the machine's two
// cores. Tests run in two processes with --test-isolation=none: the Pulumi SDK then loads twice instead of
// once per file, which halves their CPU time. The first process takes the tests that mostly wait on child
// processes and servers of their own, the second everything else. Each task's output is printed as a block
// when it ends; exits non-zero if any failed, naming which.
const { spawn } = require("node:child_process");
const fs = require("node:fs");

const TESTS = __dirname;
const WAITING_ON_PROCESSES = [
  "pulumi-load",
  "e2-custom-domain",
  "mastodon-env-push",
  "media-check",
  "merge-env",
  "cname-bundle",
  "tls-probe",
  "ceph-rgw",
  "e2-bucket-provider",
  "bucket-policy-rgw",
].map((name) => `tests/${name}.test.ts`);
const allTests = fs
  .readdirSync(TESTS)
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => `tests/${f}`);
const inProcess = allTests.filter((f) => !WAITING_ON_PROCESSES.includes(f));
const nodeTest = (files) => ["--import", "tsx", "--test", "--test-isolation=none", ...files];

const tasks = [
  [
    "tests (processes and servers)",
    process.execPath,
    nodeTest(WAITING_ON_PROCESSES.filter((f) => allTests.includes(f))),
  ],
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
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      process.stdout.write(
        `\n===== ${name}: ${code === 0 ? "passed" : `FAILED (exit ${code})`} in ${seconds} s\n${out}`,
      );
      resolve({ name, code, out });
    });
  });
}

Promise.all(tasks.map(run)).then((results) => {
  const failed = results.filter((r) => r.code !== 0).map((r) => r.name);
  // One closing count over both test processes, in the form CI reads.
  const count = (label) =>
    results
      .filter((r) => r.name.startsWith("tests"))
      .reduce((sum, r) => sum + Number((new RegExp(`^ℹ ${label} (\\d+)$`, "m").exec(r.out) ?? [0, 0])[1]), 0);
  process.stdout.write(`\n${count("pass")} passed, ${count("fail")} failed, ${count("skipped")} skipped\n`);
  process.stdout.write(
    `${failed.length ? `npm test FAILED: ${failed.join(", ")}` : "npm test passed: typecheck, lint, tests"}\n`,
  );
  process.exitCode = failed.length ? 1 : 0;
});
