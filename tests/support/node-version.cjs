// The Node version `npm test` needs, checked before anything else runs: on an older Node the test runner
// fails half a minute later on an option it does not know (--test-isolation), which says nothing useful.
// Plain CommonJS without newer syntax (no `?.`, `??`), so that even a very old Node gets this far. The
// minimum is package.json's `engines.node` (">=22").
const fs = require("node:fs");
const path = require("node:path");

/** The major version package.json's `engines.node` asks for (">=22" → 22). */
function requiredMajor() {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package.json"), "utf8"));
  const match = /^>=\s*(\d+)/.exec(pkg.engines.node);
  if (!match)
    throw new Error(`package.json engines.node is ${JSON.stringify(pkg.engines.node)}; expected ">=N"`);
  return Number(match[1]);
}

/** What to tell the operator when `version` (e.g. "v20.19.2") is too old for `npm test`; undefined if fine. */
function nodeVersionProblem(version, required = requiredMajor()) {
  const match = /^v?(\d+)\./.exec(version);
  const major = match ? Number(match[1]) : 0;
  if (major >= required) return undefined;
  return [
    `npm test needs Node.js ${required} or newer (current @pulumi/pulumi requires it); this shell runs Node ${version}.`,
    "Run `source .ci/node-env.sh` from the project folder (it puts Node 24 first on PATH, installing it into",
    ".tools/ the first time), then `npm test` again. The `source` lasts for this shell only: repeat it in each",
    "new terminal.",
  ].join("\n");
}

module.exports = { nodeVersionProblem, requiredMajor };
