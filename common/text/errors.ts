/** Error for a mistake in how flagops was called or configured (exit code 2, no stack trace). */
export class UsageError extends Error {}

/** A user-given name in a message: `'name'` when plain, else JSON-escaped (no control characters reach a terminal). */
export function quote(value: string): string {
  return /^[\w.@+-]{1,200}$/.test(value) ? `'${value}'` : JSON.stringify(value.length > 200 ? `${value.slice(0, 200)}...` : value);
}
