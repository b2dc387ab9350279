// What `pulumi new <this repository>` does to the files, reproduced without the CLI (there is none here), step by
// step from pulumi/pulumi's source:
// 1. copy every file but `.git/` and the legacy `.pulumi.template.yaml`, replacing the PROJECT and DESCRIPTION
//    placeholders in text files (in `.yaml` files by the YAML-marshalled value) and PROJECT in file names
//    (pkg/cmd/pulumi/templates/project_templates.go: CopyTemplateFiles, walkFiles, transform);
// 2. load the copied Pulumi.yaml, set `name` and `description`, drop `template:`, add the `pulumi:tags` config
//    naming the template, and save it re-marshalled, comments gone (pkg/cmd/pulumi/project/newcmd/new.go;
//    sdk/go/common/workspace/project.go: AddConfigStackTags, Save);
// 3. create the stack (passphrase provider: `encryptionsalt`) and write each template config answer into
//    Pulumi.<stack>.yaml: bare keys in the new project's namespace, an empty answer falls back to the template's
//    default and is not written when still empty, secrets as `secure:` (newcmd/config.go: resolveTemplateConfig,
//    encryptTemplateConfig, SaveConfig).
// Not reproduced: the prompts themselves, the backend's stack record, and `npm install` (the caller links the
// repository's node_modules instead).
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse as parseYaml, stringify as stringifyYaml } from "yaml";
import type { PassphraseSecrets } from "./passphrase-secrets";

/** Pulumi.yaml's `template:` block (sdk/go/common/apitype/templates.go, ProjectTemplate). */
export interface ProjectTemplate {
  description?: string;
  quickstart?: string;
  config?: Record<string, { description?: string; default?: string; secret?: boolean }>;
}

/** What the user answers. */
export interface NewProjectAnswers {
  /** "Project name". */
  name: string;
  /** "Project description"; empty keeps the template's. */
  description: string;
  /** "Stack name". */
  stack: string;
  /** The template config prompts, by the template's key; a missing key is Enter pressed on the default. */
  config: Record<string, string>;
  /** The `pulumi new` argument, recorded as the `pulumi:template` tag. */
  template: string;
}

/** What was ignored besides `.git/`: things a clone of the repository does not have (its .gitignore). */
export interface CopyOptions {
  skip: (relativePath: string, isDirectory: boolean) => boolean;
}

/** The top-level .gitignore's simple patterns (`dir/`, `*.ext`, `name`) as a skip test. */
export function gitIgnored(repositoryDir: string): CopyOptions["skip"] {
  const patterns = readFileSync(path.join(repositoryDir, ".gitignore"), "utf8")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  return (relativePath, isDirectory) => {
    const name = path.basename(relativePath);
    return patterns.some((p) =>
      p.endsWith("/")
        ? isDirectory && name === p.slice(0, -1)
        : p.startsWith("*.")
          ? name.endsWith(p.slice(1))
          : name === p,
    );
  };
}

const isBinary = (bytes: Buffer) => bytes.subarray(0, 8000).includes(0);

// The placeholders, spelt so that they do not appear in this file: pulumi new would replace them here too.
const PROJECT_PLACEHOLDER = ["$", "{PROJECT}"].join("");
const DESCRIPTION_PLACEHOLDER = ["$", "{DESCRIPTION}"].join("");

/** project_templates.go `transform`. */
const transform = (text: string, name: string, description: string) =>
  text.replaceAll(PROJECT_PLACEHOLDER, name).replaceAll(DESCRIPTION_PLACEHOLDER, description);

/** Step 1. Returns the relative paths of the files whose text the substitution changed. */
export function copyTemplateFiles(
  sourceDir: string,
  destDir: string,
  name: string,
  description: string,
  options: CopyOptions,
): string[] {
  const changed: string[] = [];
  // yaml.v3 Marshal of a plain string: the string and a newline (project_templates.go, toYAMLString).
  const yamlName = stringifyYaml(name);
  const yamlDescription = stringifyYaml(description);
  const walk = (relative: string) => {
    for (const entry of readdirSync(path.join(sourceDir, relative), { withFileTypes: true })) {
      const rel = path.join(relative, entry.name);
      if (entry.isDirectory()) {
        if (entry.name === ".git" || options.skip(rel, true)) continue;
        mkdirSync(path.join(destDir, rel), { recursive: true });
        walk(rel);
        continue;
      }
      if (entry.name === ".pulumi.template.yaml" || entry.name === ".git" || options.skip(rel, false))
        continue;
      const source = path.join(sourceDir, rel);
      const dest = path.join(destDir, transform(rel, name, ""));
      const bytes = readFileSync(source);
      if (isBinary(bytes)) {
        cpSync(source, dest);
        continue;
      }
      const text = bytes.toString("utf8");
      const out = rel.endsWith(".yaml")
        ? transform(text, yamlName, yamlDescription)
        : transform(text, name, description);
      if (out !== text) changed.push(rel);
      writeFileSync(dest, out, { mode: lstatSync(source).mode | 0o600 });
    }
  };
  walk("");
  return changed;
}

/** Step 2. Returns the template block the copied Pulumi.yaml had. */
export function rewriteProjectFile(projectDir: string, answers: NewProjectAnswers): ProjectTemplate {
  const file = path.join(projectDir, "Pulumi.yaml");
  const project = parseYaml(readFileSync(file, "utf8")) as Record<string, unknown> & {
    template?: ProjectTemplate;
    config?: Record<string, unknown>;
  };
  const template = project.template ?? {};
  project.name = answers.name;
  if (answers.description) project.description = answers.description;
  delete project.template;
  project.config = {
    ...project.config,
    "pulumi:tags": { value: { "pulumi:template": answers.template } },
  };
  writeFileSync(file, stringifyYaml(project));
  return template;
}

/** Step 3: the stack file as the CLI leaves it. */
export function writeStackConfig(
  projectDir: string,
  template: ProjectTemplate,
  answers: NewProjectAnswers,
  secrets: PassphraseSecrets,
): string {
  const file = path.join(projectDir, `Pulumi.${answers.stack}.yaml`);
  // An existing file is loaded and the answers merged into it (SaveConfig: maps.Copy into ps.Config).
  const stackDoc = (existsSync(file) ? parseYaml(readFileSync(file, "utf8")) : null) ?? {};
  stackDoc.encryptionsalt ??= secrets.encryptionSalt;
  const config: Record<string, unknown> = { ...stackDoc.config };
  for (const [key, declared] of Object.entries(template.config ?? {})) {
    const fullKey = key.includes(":") ? key : `${answers.name}:${key}`;
    const value = answers.config[key] || declared.default || "";
    if (!value) continue;
    config[fullKey] = declared.secret ? { secure: secrets.encrypt(value) } : value;
  }
  stackDoc.config = config;
  writeFileSync(file, stringifyYaml(stackDoc));
  return file;
}

/** All three steps into `destDir` (empty). Returns what later checks need. */
export function pulumiNew(
  templateDir: string,
  destDir: string,
  answers: NewProjectAnswers,
  secrets: PassphraseSecrets,
  options: CopyOptions,
): { changedBySubstitution: string[]; template: ProjectTemplate; stackFile: string } {
  const changedBySubstitution = copyTemplateFiles(
    templateDir,
    destDir,
    answers.name,
    answers.description,
    options,
  );
  const template = rewriteProjectFile(destDir, answers);
  const stackFile = writeStackConfig(destDir, template, answers, secrets);
  return { changedBySubstitution, template, stackFile };
}
