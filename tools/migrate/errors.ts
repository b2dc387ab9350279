// The one error type of the migrate tool: a message for the operator, printed without a stack trace.

/** A failure the operator can act on: which side failed (source, bucket, host) and what to do. Exit 1. */
export class MigrateError extends Error {}
