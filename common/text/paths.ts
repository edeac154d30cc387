/** A path in a YAML or JSON document, in words for a message. */

/** `flag 'x_enabled' field 'rollout'`, readable for the two flag files. */
export function describePath(path: readonly string[]): string {
  if (path.length === 0) return '';
  if (path[0] === 'flags' && path.length >= 2) {
    const rest = path.slice(2);
    return `flag '${path[1]}'${rest.length ? ` field '${rest.join('.')}'` : ''}`;
  }
  return `field '${path.join('.')}'`;
}
