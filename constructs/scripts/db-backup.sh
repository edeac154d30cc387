#!/bin/sh
# pms-db-backup: one pg_dump of the PMS database in custom format, then pruning by age.
#
# Runs in the pms-db-backup CronJob (shipped through the pms-db-backup-scripts ConfigMap) and in
# test/database-backup.test.ts against a real PostgreSQL, with the same environment:
#   PGHOST PGPORT PGDATABASE PGUSER PGPASSWORD  libpq connection (user and password from a Secret)
#   BACKUP_DIR       where dumps live (the backup PersistentVolumeClaim)
#   BACKUP_PREFIX    dump file prefix: <prefix>-<YYYYmmddTHHMMSSZ>.dump
#   RETENTION_DAYS   dumps older than this many days are deleted after a successful dump
#   TMPDIR           writable scratch (an emptyDir; the root filesystem is read-only)
#
# Exit status: 0 when the new dump is complete and readable; non-zero otherwise, and then nothing
# is pruned, so a failing backup never shortens the history.
set -eu

log() { printf '%s pms-db-backup: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

: "${BACKUP_DIR:?BACKUP_DIR must be set}"
: "${BACKUP_PREFIX:?BACKUP_PREFIX must be set}"
: "${RETENTION_DAYS:?RETENTION_DAYS must be set}"
: "${PGDATABASE:?PGDATABASE must be set}"
case "$RETENTION_DAYS" in
  '' | *[!0-9]* | 0) fail "RETENTION_DAYS must be a positive integer, got '$RETENTION_DAYS'" ;;
esac
[ -d "$BACKUP_DIR" ] && [ -w "$BACKUP_DIR" ] || fail "BACKUP_DIR $BACKUP_DIR is not a writable directory"

# Dumps hold patient data: owner-only from the first byte.
umask 077

stamp=$(date -u +%Y%m%dT%H%M%SZ)
final="$BACKUP_DIR/$BACKUP_PREFIX-$stamp.dump"
partial="$BACKUP_DIR/.$BACKUP_PREFIX-$stamp.dump.partial"
trap 'rm -f "$partial"' EXIT

log "dumping database $PGDATABASE on ${PGHOST:-local socket}:${PGPORT:-5432} to $final"
pg_dump --format=custom --compress=6 --no-password --file="$partial" \
  || fail "pg_dump exited non-zero"

# A dump that pg_restore cannot list is not a backup.
toc="${TMPDIR:-/tmp}/pms-db-backup-toc.$$"
pg_restore --list "$partial" >"$toc" || fail "pg_restore cannot read the new dump"
entries=$(grep -c ' TABLE DATA ' "$toc" || true)
rm -f "$toc"

chmod 0600 "$partial"
mv "$partial" "$final"
trap - EXIT
log "wrote $final ($(wc -c <"$final" | tr -d ' ') bytes, $entries tables with data)"

# Retention: delete the dumps this script wrote (<prefix>-<YYYYmmddTHHMMSSZ>.dump, nothing else
# that merely starts with the prefix, like <prefix>-audit.dump or <prefix>-manual.dump) last
# modified more than RETENTION_DAYS days ago, and leftovers of interrupted runs.
d='[0-9]'
ours="$BACKUP_PREFIX-$d$d$d$d$d$d$d${d}T$d$d$d$d$d${d}Z.dump"
minutes=$((RETENTION_DAYS * 1440))
find "$BACKUP_DIR" -maxdepth 1 -type f -name "$ours" -mmin +"$minutes" -print | while IFS= read -r old; do
  rm -f "$old" && log "pruned $old (older than $RETENTION_DAYS days)"
done
find "$BACKUP_DIR" -maxdepth 1 -type f -name ".$ours.partial" -mmin +1440 -exec rm -f {} +

log "done: $(find "$BACKUP_DIR" -maxdepth 1 -type f -name "$ours" | wc -l | tr -d ' ') dumps kept"
