// The README's troubleshooting table quotes what the program prints, so an operator can search it with the text
// on their screen. Its convention (stated above the table): in the symptom column, text in backticks is quoted from
// this program's output, `…` standing for the parts that vary. This test finds every such quote in the text of the
// program's string literals (not its comments): each part between `…` must occur in one file's literals, joined
// in source order, so a message built from several literals still matches and a reworded message fails. A quote
// of one word (a check name such as `tls`) must be a whole literal (or, in a shell script, a whole word), so that
// it cannot match inside unrelated text.
import assert from "node:assert/strict";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, it } from "node:test";
import ts from "typescript";

const ROOT = join(__dirname, "..");
/** Where the program's messages live: the program, its providers, runtime scripts, tools and policy pack. */
const SOURCE_DIRS = ["components", "providers", "runtime", "tools", "policy"];
/** Single files that print operator-facing messages outside those folders. */
const SOURCE_FILES = ["index.ts", "tests/support/node-version.cjs"];

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules") return [];
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

interface Messages {
  /** Every literal's text in source order, joined. */
  joined: string;
  /** Each literal on its own (for a shell script: each word). */
  whole: Set<string>;
}

/** The string and template literals of a script, in source order. */
function scriptLiterals(path: string): Messages {
  const source = ts.createSourceFile(path, readFileSync(path, "utf8"), ts.ScriptTarget.Latest, false);
  const parts: string[] = [];
  const visit = (node: ts.Node) => {
    if (
      ts.isStringLiteral(node) ||
      ts.isNoSubstitutionTemplateLiteral(node) ||
      ts.isTemplateHead(node) ||
      ts.isTemplateMiddle(node) ||
      ts.isTemplateTail(node)
    ) {
      parts.push(node.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return { joined: parts.join(""), whole: new Set(parts) };
}

/** A shell script without its comment lines (its messages are in echo/printf lines). */
function shellText(path: string): Messages {
  const joined = readFileSync(path, "utf8")
    .split("\n")
    .filter((line) => !line.trimStart().startsWith("#"))
    .join("\n");
  return { joined, whole: new Set(joined.split(/[^A-Za-z0-9_.:-]+/)) };
}

function messageTexts(): Map<string, Messages> {
  const files = [
    ...SOURCE_DIRS.flatMap((d) => filesUnder(join(ROOT, d))),
    ...SOURCE_FILES.map((f) => join(ROOT, f)),
  ];
  const texts = new Map<string, Messages>();
  for (const file of files) {
    if (/\.(ts|cjs|mjs|js)$/.test(file)) texts.set(relative(ROOT, file), scriptLiterals(file));
    else if (file.endsWith(".sh")) texts.set(relative(ROOT, file), shellText(file));
  }
  return texts;
}

/** The symptom column of the README's troubleshooting table, one cell per row. */
export function troubleshootingSymptoms(readme: string): string[] {
  const section = readme.split(/^## Troubleshooting$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, "README.md has no `## Troubleshooting` section");
  const rows = section.split("\n").filter((line) => line.startsWith("|"));
  // Header and separator first.
  assert.match(rows[0] ?? "", /^\|\s*symptom\s*\|/);
  return rows.slice(2).map((row) => row.slice(1, row.indexOf(" |", 1)).trim());
}

/** Each backticked quote of a symptom, split at `…` into the parts that must occur. */
export function quotedParts(symptom: string): string[][] {
  return [...symptom.matchAll(/`([^`]+)`/g)].map((m) =>
    m[1]!
      .split("…")
      .map((part) => part.trim())
      .filter((part) => part !== ""),
  );
}

describe("README troubleshooting table", () => {
  const symptoms = troubleshootingSymptoms(readFileSync(join(ROOT, "README.md"), "utf8"));
  const texts = messageTexts();

  it("quotes program output in most rows (the convention is in use)", () => {
    const quoted = symptoms.filter((s) => quotedParts(s).length > 0);
    assert.ok(symptoms.length >= 20, `only ${symptoms.length} rows found`);
    assert.ok(quoted.length >= 20, `only ${quoted.length} rows quote program output`);
  });

  for (const symptom of symptoms) {
    for (const parts of quotedParts(symptom)) {
      it(`finds "${parts.join(" … ")}" in the program's messages`, () => {
        const oneWord = parts.length === 1 && !/\s/.test(parts[0]!);
        const found = (m: Messages) =>
          oneWord ? m.whole.has(parts[0]!) : parts.every((p) => m.joined.includes(p));
        const where = [...texts].filter(([, m]) => found(m)).map(([f]) => f);
        assert.ok(
          where.length > 0,
          `no file under ${SOURCE_DIRS.join("/, ")}/ holds ${oneWord ? "the literal" : "every part of"} ` +
            `${JSON.stringify(parts)}`,
        );
      });
    }
  }
});
