// Limits of the end-to-end media check, shared by the component (program phase), the config parser and the
// checker it runs (runtime/media-check.ts): one definition, kept here because components import nothing
// from runtime/.

/** Default overall time the check may take, in seconds (config `verifyTimeoutSeconds`). */
export const DEFAULT_TIMEOUT_SECONDS = 300;
/** Upper bound of `verifyTimeoutSeconds`, in seconds. */
export const MAX_TIMEOUT_SECONDS = 3600;
