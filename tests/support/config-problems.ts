// The problems parseSettings reports for a config it refuses.
import * as assert from "node:assert/strict";
import { ConfigError, parseSettings, type RawConfig } from "../../components/config";

/** Every problem parseSettings lists for `raw`; fails the test if it accepts `raw`. */
export function problemsOf(raw: RawConfig): string[] {
  try {
    parseSettings(raw);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    return err.problems;
  }
  assert.fail("expected the config to be rejected");
}

/** The one problem reported for `key`, checked to mention each fragment. */
export function problemFor(raw: RawConfig, key: string, ...fragments: string[]): string {
  const problems = problemsOf(raw);
  const problem = problems.find((p) => p.startsWith(`mastodon-media:${key} `));
  assert.ok(problem, `no problem reported for ${key}; got ${JSON.stringify(problems)}`);
  for (const fragment of fragments)
    assert.ok(problem.includes(fragment), `"${problem}" should mention ${fragment}`);
  return problem;
}
