import { test } from "node:test";
import * as assert from "node:assert/strict";
import { parseStackArgs, UsageError } from "../tools/stack-args";

const USAGE = "tool [-- --stack <name>]";

test("--stack <name>, -s <name> and --stack=<name> name the stack; no arguments name none", () => {
  assert.deepEqual(parseStackArgs([], USAGE), {});
  assert.deepEqual(parseStackArgs(["--stack", "prod"], USAGE), { stack: "prod" });
  assert.deepEqual(parseStackArgs(["-s", "prod"], USAGE), { stack: "prod" });
  assert.deepEqual(parseStackArgs(["--stack=org/prod"], USAGE), { stack: "org/prod" });
});

test("anything else is a usage error that ends with the usage", () => {
  for (const argv of [["--bogus"], ["prod"], ["--stack"], ["--stack", "--bogus"], ["--stack="]]) {
    assert.throws(
      () => parseStackArgs(argv, USAGE),
      (e: unknown) => e instanceof UsageError && e.message.endsWith(`; usage: ${USAGE}`),
      argv.join(" "),
    );
  }
});
