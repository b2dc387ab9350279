// What `npm test` prints. A passing run: one line per task with its time as it ends, then the count line and
// the closing line. A failing run: the same, plus the full output of each failed task before the count (the
// failing tests with everything they printed, or the type checker's or linter's complaints). What passing
// tasks printed is left out. (Pulumi's `warning: [runtime] …` lines, which the SDK writes to stderr when no
// engine is attached, no longer reach the output at all: the mock harness records them for the tests.)

/** `{ name, code, out, seconds }` of one task → its summary line. */
function taskLine({ name, code, seconds }) {
  const time = `${name.padEnd(30)} ${seconds.toFixed(1).padStart(5)} s`;
  return code === 0
    ? `  passed  ${time}`
    : `  FAILED  ${time}  (exit ${code}; its output follows at the end)`;
}

/** Sums node:test's closing `ℹ pass N` (`fail`, `skipped`) lines over the test tasks. */
function counts(results) {
  const sum = (label) =>
    results
      .filter((r) => r.name.startsWith("tests"))
      .reduce((n, r) => n + Number((new RegExp(`^ℹ ${label} (\\d+)$`, "m").exec(r.out) ?? [0, 0])[1]), 0);
  return { passed: sum("pass"), failed: sum("fail"), skipped: sum("skipped") };
}

/** The count line CI reads: `N passed, N failed, N skipped`, on a line of its own. */
function countLine(results) {
  const c = counts(results);
  return `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
}

/** Everything printed after the last task ended: failed tasks' output in full, the count, the verdict. */
function finalReport(results) {
  const failed = results.filter((r) => r.code !== 0);
  const blocks = failed.map(
    (r) => `\n===== ${r.name}: FAILED (exit ${r.code}) in ${r.seconds.toFixed(1)} s\n${r.out.trimEnd()}`,
  );
  return [
    ...blocks,
    "",
    countLine(results),
    failed.length
      ? `npm test FAILED: ${failed.map((r) => r.name).join(", ")}`
      : "npm test passed: typecheck, lint, tests",
    "",
  ].join("\n");
}

module.exports = { countLine, finalReport, taskLine };
