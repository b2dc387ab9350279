// How config problems are collected and reported: every one at once, naming the key, never a secret.
import * as pulumi from "@pulumi/pulumi";
import { didYouMean } from "./suggest";

/** Thrown for bad configuration; a RunError, so Pulumi prints the message without a stack trace. */
export class ConfigError extends pulumi.RunError {
  constructor(readonly problems: string[]) {
    super(
      `Invalid stack configuration (nothing was created or changed):\n${problems.map((p) => `  - ${p}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}

export const show = (value: unknown) => JSON.stringify(value);

/** Collects problems while parsing so that the operator sees all of them in one run. */
export class Problems {
  readonly list: string[] = [];
  /** `namespace`: the project name, so that each message names the full key (`<project>:<key>`). */
  constructor(private readonly namespace: string) {}
  add(key: string, value: unknown, expected: string): undefined {
    const got = value === undefined ? "is not set" : `is ${show(value)}`;
    this.list.push(`${this.namespace}:${key} ${got}; expected ${expected}.`);
    return undefined;
  }
  /** For secrets and other values that must not be echoed. */
  addHidden(key: string, message: string): undefined {
    this.list.push(`${this.namespace}:${key} ${message}`);
    return undefined;
  }
  /** A field inside an object setting that the program does not know (`mastodonHost.envfile`). */
  unknownField(key: string, field: string, known: readonly string[]): undefined {
    return this.addHidden(
      `${key}.${field}`,
      `is an unknown field${didYouMean(field, known)}; known fields of ${key}: ${known.join(", ")}.`,
    );
  }
}
