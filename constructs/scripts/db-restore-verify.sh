#!/bin/sh
# pms-db-restore-verify: proves the newest dump restores. Starts a throwaway PostgreSQL in scratch
# space (no network, no access to the live database), restores the newest dump into a scratch
# database, and runs sanity queries. Exits non-zero on any failure.
#
# Runs in the pms-db-restore-verify CronJob (weekly) and in test/database-backup.test.ts:
#   BACKUP_DIR      where dumps live (the backup PersistentVolumeClaim, mounted read-only)
#   BACKUP_PREFIX   dump file prefix (the newest <prefix>-<YYYYmmddTHHMMSSZ>.dump by name is verified)
#   VERIFY_TABLES   space-separated tables that must exist and hold at least one row
#   SCRATCH_DIR     writable scratch (an emptyDir) for the throwaway cluster
#
# The steps are the restore procedure of the README, on a scratch server:
#   1. pick the newest dump          4. pg_restore --exit-on-error into a fresh database
#   2. pg_restore --list it          5. every VERIFY_TABLES table exists and is non-empty
#   3. start an empty PostgreSQL     6. report row counts, stop and delete the scratch server
set -eu

log() { printf '%s pms-db-restore-verify: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

: "${BACKUP_DIR:?BACKUP_DIR must be set}"
: "${BACKUP_PREFIX:?BACKUP_PREFIX must be set}"
: "${VERIFY_TABLES:?VERIFY_TABLES must be set}"
: "${SCRATCH_DIR:?SCRATCH_DIR must be set}"
# Never talk to the live database, whatever the environment says.
unset PGHOST PGHOSTADDR PGPORT PGDATABASE PGUSER PGPASSWORD PGSERVICE || true
umask 077

# 1. The newest dump, by the UTC timestamp in its name. Only names the backup writes count: a
#    <prefix>-manual.dump or <prefix>-audit-x.dump would sort after every timestamp.
d='[0-9]'
newest=$(find "$BACKUP_DIR" -maxdepth 1 -type f -name "$BACKUP_PREFIX-$d$d$d$d$d$d$d${d}T$d$d$d$d$d${d}Z.dump" | sort | tail -n 1)
[ -n "$newest" ] || fail "no $BACKUP_PREFIX-<YYYYmmddTHHMMSSZ>.dump in $BACKUP_DIR"
log "verifying $newest"

# 2. Its table of contents must be readable.
pg_restore --list "$newest" >"$SCRATCH_DIR/toc.txt" 2>"$SCRATCH_DIR/toc.err" \
  || fail "pg_restore cannot read $newest: $(head -c 500 "$SCRATCH_DIR/toc.err")"

# 3. A throwaway server: unix socket only, in scratch space, removed on exit.
data="$SCRATCH_DIR/pgdata"
sock="$SCRATCH_DIR/run"
rm -rf "$data" "$sock"
mkdir -p "$sock"
stop() {
  pg_ctl --pgdata="$data" --mode=immediate --wait stop >/dev/null 2>&1 || true
  rm -rf "$data" "$sock"
}
trap stop EXIT
initdb --pgdata="$data" --username=verify --auth=trust --encoding=UTF8 --locale=C --no-sync >"$SCRATCH_DIR/initdb.log" 2>&1 \
  || fail "initdb failed: $(tail -n 5 "$SCRATCH_DIR/initdb.log")"
pg_ctl --pgdata="$data" --wait --timeout=60 --log="$SCRATCH_DIR/postgres.log" \
  --options="-c listen_addresses='' -c unix_socket_directories='$sock' -c fsync=off -c dynamic_shared_memory_type=mmap" start >/dev/null \
  || fail "the scratch server did not start: $(tail -n 5 "$SCRATCH_DIR/postgres.log")"

psql_scratch() { psql --no-psqlrc --quiet --tuples-only --no-align --host="$sock" --username=verify --set=ON_ERROR_STOP=1 "$@"; }

# 4. Restore into a fresh database; any error fails the verification.
psql_scratch --dbname=postgres --command='CREATE DATABASE pms_restore_verify' >/dev/null \
  || fail "could not create the scratch database"
pg_restore --exit-on-error --no-owner --no-privileges --host="$sock" --username=verify \
  --dbname=pms_restore_verify "$newest" 2>"$SCRATCH_DIR/restore.err" \
  || fail "pg_restore failed: $(head -c 1000 "$SCRATCH_DIR/restore.err")"

# 5. Sanity queries: each expected table exists and is non-empty.
failures=0
for table in $VERIFY_TABLES; do
  case "$table" in
    *[!a-z0-9_.]* | '') fail "VERIFY_TABLES entry '$table' is not a plain table name" ;;
  esac
  exists=$(psql_scratch --dbname=pms_restore_verify --command="SELECT to_regclass('$table') IS NOT NULL") \
    || fail "could not look up table $table in the restored database"
  if [ "$exists" != t ]; then
    log "table $table is missing from the restored database"
    failures=$((failures + 1))
    continue
  fi
  rows=$(psql_scratch --dbname=pms_restore_verify --command="SELECT count(*) FROM $table") \
    || fail "could not count the rows of $table in the restored database"
  if [ "$rows" -eq 0 ]; then
    log "table $table is empty in the restored database"
    failures=$((failures + 1))
  else
    log "table $table: $rows rows"
  fi
done
[ "$failures" -eq 0 ] || fail "$failures sanity check(s) failed for $newest"

# 6. Report; the EXIT trap stops and deletes the scratch server.
tables=$(psql_scratch --dbname=pms_restore_verify --command="SELECT count(*) FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema')")
log "OK: $newest restores ($tables tables)"
