// How config problems are collected and reported: every one at once, naming the key, never a secret.
import * as pulumi from "@pulumi/pulumi";
import { PROJECT_NAME } from "./keys";
import { didYouMean } from "./suggest";

/** Thrown for bad configuration; a RunError, so Pulumi prints the message without a stack trace. */
export class ConfigError extends pulumi.RunError {
  constructor(
    readonly problems: string[],
    registered = false,
  ) {
    const nothing = registered ? "" : " (nothing was created or changed)";
    super(`Invalid stack configuration${nothing}:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

export const show = (value: unknown) => JSON.stringify(value);

/** One problem: the setting (`mastodonHost.port`) and what is wrong with it, as a sentence after its name. */
export interface Problem {
  key: string;
  message: string;
}

/**
 * Collects problems while parsing so that the operator sees all of them in one run. `source` says where the
 * values came from: the stack config (problems name `<project>:<key>` and may suggest `pulumi config`
 * commands) or a program's `MastodonMediaStorageArgs` (problems name the argument).
 */
export class Problems {
  readonly entries: Problem[] = [];
  /** `namespace`: the project's name, so that a config problem names the full key (`<project>:<key>`). */
  constructor(
    readonly source: "config" | "args" = "config",
    readonly namespace: string = PROJECT_NAME,
  ) {}
  /** Each problem as one line, naming the setting as its source spells it. */
  get list(): string[] {
    const prefix = this.source === "config" ? `${this.namespace}:` : "";
    return this.entries.map((p) => `${prefix}${p.key} ${p.message}`);
  }
  add(key: string, value: unknown, expected: string): undefined {
    const got = value === undefined ? "is not set" : `is ${show(value)}`;
    this.entries.push({ key, message: `${got}; expected ${expected}.` });
    return undefined;
  }
  /** For secrets and other values that must not be echoed. */
  addHidden(key: string, message: string): undefined {
    this.entries.push({ key, message });
    return undefined;
  }
  /**
   * Throws every problem at once, if there are any: a ConfigError for the stack config, an
   * InputPropertiesError naming each argument for program arguments. `registered`: some resources may exist
   * already (a value checked when its Output resolved), so the message does not claim that nothing changed.
   */
  throwIfAny(registered = false): void {
    if (this.entries.length === 0) return;
    if (this.source === "config") throw new ConfigError(this.list, registered);
    const nothing = registered ? "" : " (nothing was registered)";
    throw new pulumi.InputPropertiesError({
      message: `Invalid MastodonMediaStorage arguments${nothing}:\n${this.list.map((p) => `  - ${p}`).join("\n")}`,
      errors: this.entries.map((p) => ({ propertyPath: p.key, reason: p.message })),
    });
  }
  /** A field inside an object setting that the program does not know (`mastodonHost.envfile`). */
  unknownField(key: string, field: string, known: readonly string[]): undefined {
    return this.addHidden(
      `${key}.${field}`,
      `is an unknown field${didYouMean(field, known)}; known fields of ${key}: ${known.join(", ")}.`,
    );
  }
}
