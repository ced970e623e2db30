#!/bin/sh
# Wrapper around the official postgres image entrypoint. Named volumes mounted at paths that
# do not exist in the image are created root-owned, so the `postgres` user could not write the
# WAL archive or base backups. Create/own them, check the archive script, then hand over.
set -eu

archive_dir=${WAL_ARCHIVE_DIR:-/wal-archive}
backup_dir=${BACKUP_DIR:-/backups}

if [ "$(id -u)" = 0 ]; then
  for d in "$archive_dir" "$backup_dir"; do
    mkdir -p "$d"
    chown postgres:postgres "$d"
    chmod 0700 "$d"
  done
fi

if [ ! -x /ops/archive-wal.sh ]; then
  echo "entrypoint: /ops/archive-wal.sh is missing or not executable (chmod +x ops/postgres/*.sh);" >&2
  echo "entrypoint: archive_command would fail and WAL would pile up in pg_wal" >&2
  exit 1
fi

exec docker-entrypoint.sh "$@"
