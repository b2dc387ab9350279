// Child-process entry: runs the program under mocks the way `pulumi up` loads it. The mock harness itself
// is TypeScript, so tsx loads it and is then unregistered: the program is compiled only by the ts-node
// that @pulumi/pulumi registers (type-checking, with this project's tsconfig and typescript).
// Input: MOCK_RUN_OPTIONS (JSON of MockRunOptions without `typescript` and `invokes`: lookups get the
// offline answers). Output: one JSON line on fd 3
// if open, else stdout: { ok, result, programMs } or { ok: false, error, record } (record: what was registered).
const fs = require("node:fs");
const { register } = require("tsx/cjs/api");

const unregister = register();
const { runProgramUnderMocks, OFFLINE_INVOKES } = require("./mock-run.ts");
unregister();

function report(payload) {
  const line = JSON.stringify(payload) + "\n";
  try {
    fs.writeSync(3, line);
  } catch {
    process.stdout.write(line);
  }
}

// A failing program also leaves rejected promises behind (its pending outputs) after Pulumi's own handlers
// are gone; the failure itself is reported below, from runProgramUnderMocks' rejection.
process.on("unhandledRejection", () => {});

const options = JSON.parse(process.env.MOCK_RUN_OPTIONS || "{}");
const started = performance.now();
runProgramUnderMocks({ ...options, invokes: OFFLINE_INVOKES, typescript: true }).then(
  (result) =>
    report({
      ok: true,
      result,
      tsNodeRegistered: Boolean(require.extensions[".ts"]),
      // The program phase: ts-node registration, compiling and running the program, registrations settled.
      programMs: performance.now() - started,
    }),
  (err) => {
    const record = err && err.record;
    report({
      ok: false,
      error: { name: err && err.name, message: String((err && err.message) || err) },
      record,
    });
    process.exitCode = 1;
  },
);
