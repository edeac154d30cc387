/** Error for a mistake in how flagops was called or configured (exit code 2, no stack trace). */
export class UsageError extends Error {}
