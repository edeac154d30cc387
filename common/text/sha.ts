/**
 * Commits in text output are shown by one form, the first 12 hex digits (JSON keeps full SHAs
 * where a machine reads them): docs/review-and-audit.md, "Commit SHAs in output".
 */
export const SHORT_SHA_LENGTH = 12;
export const shortSha = (sha: string): string => sha.slice(0, SHORT_SHA_LENGTH);
