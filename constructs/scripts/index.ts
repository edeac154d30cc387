/**
 * The backup scripts as shipped: the .sh files next to this module, read once. The constructs take
 * their text as props (defaulting to these), so a test can synthesize a broken script.
 */
import { readFileSync } from 'node:fs';

const read = (name: string): string => readFileSync(new URL(`./${name}`, import.meta.url), 'utf8');

/** `pg_dump` custom format, mode 0600, pruning by age. */
export const BACKUP_SCRIPT = read('db-backup.sh');
/** Restores the newest dump into a throwaway PostgreSQL and runs sanity queries. */
export const RESTORE_VERIFY_SCRIPT = read('db-restore-verify.sh');
