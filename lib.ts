// The library entry (`import { MastodonMediaStorage } from "mastodon-media"`): exports only, no resources and
// no config reads on import. index.ts stays this repository's own program. Compiled to dist/ by
// `npm run build:lib` (tsconfig.lib.json), which `prepare` runs for a git install and `npm pack`.
export { MastodonMediaStorage } from "./components/mastodon-media-storage";
export type {
  AdoptArgs,
  MastodonHostArgs,
  MastodonMediaStorageArgs,
} from "./components/mastodon-media-storage-args";
export type { EdgeRuleGroup } from "./components/edge-rules";
export type { MastodonRestart } from "./components/mastodon-env-push";
export type { Settings } from "./components/config";
export { e2ConsoleStep, type E2ConsoleStepFacts } from "./components/e2-console-step";
