// `npm test`: type check, lint (with the format check) and every test, side by side: the tests run in one
// process (test:unit, --test-isolation=none: the Pulumi SDK loads once instead of once per file, which
// halves their CPU time), so the type check and lint use the other core. Each one's output is printed as
// a block when it ends; exits non-zero if any failed, naming which.
const { spawn } = require("node:child_process");

const tasks = [
  ["tests", "npm", ["run", "--silent", "test:unit"]],
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
      resolve({ name, code });
    });
  });
}

Promise.all(tasks.map(run)).then((results) => {
  const failed = results.filter((r) => r.code !== 0).map((r) => r.name);
  process.stdout.write(
    `\n${failed.length ? `npm test FAILED: ${failed.join(", ")}` : "npm test passed: typecheck, lint, tests"}\n`,
  );
  process.exitCode = failed.length ? 1 : 0;
});
