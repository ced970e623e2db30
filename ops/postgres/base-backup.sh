#!/bin/sh
# Daily base backup (schedule 03:00 UTC) with 30-day online retention. Run inside the postgres
# container as the postgres user, e.g. from the host's cron:
#   docker-compose exec -T -u postgres postgres /ops/base-backup.sh
# Writes $BACKUP_DIR/base-<UTC stamp>/{base.tar.gz,pg_wal.tar.gz,backup_manifest}, verifies it,
# then deletes online backups older than $RETENTION_DAYS (never the newest) and the archived WAL
# that only those deleted backups needed (pg_archivecleanup).
# Copy backups and WAL off the host (7-year archive tier) BEFORE they age out: see docs/operations.md.
set -eu

backup_dir=${BACKUP_DIR:-/backups}
archive_dir=${WAL_ARCHIVE_DIR:-/wal-archive}
retention_days=${RETENTION_DAYS:-30}
stamp=$(date -u +%Y%m%dT%H%M%SZ)
tmp="$backup_dir/.partial-base-$stamp"
target="$backup_dir/base-$stamp"

trap 'rm -rf "$tmp"' EXIT
# Local socket as the postgres OS user: the image's pg_hba.conf trusts local replication.
pg_basebackup -U "${POSTGRES_USER:-postgres}" \
  -D "$tmp" -Ft -z -Xstream --checkpoint=fast --label="stayos-base-$stamp"
# Tar-format WAL cannot be parsed by pg_verifybackup (PG 18): -n checks the files only.
pg_verifybackup -n "$tmp"
mv "$tmp" "$target"
trap - EXIT
sync
echo "base-backup: wrote $target"

# Retention: remove online base backups older than N days, keeping at least the newest one.
newest=$(ls -1d "$backup_dir"/base-* | sort | tail -n 1)
find "$backup_dir" -maxdepth 1 -type d -name 'base-*' -mtime +"$retention_days" |
  while read -r old; do
    [ "$old" = "$newest" ] && continue
    echo "base-backup: removing expired $old"
    rm -rf "$old"
  done

# WAL older than the oldest remaining backup's start segment is no longer needed online.
oldest=$(ls -1d "$backup_dir"/base-* | sort | head -n 1)
start_seg=$(tar -xzOf "$oldest/base.tar.gz" backup_label |
  sed -n 's/^START WAL LOCATION: .*(file \([0-9A-F]\{24\}\)).*/\1/p')
if [ -n "$start_seg" ]; then
  pg_archivecleanup "$archive_dir" "$start_seg"
  echo "base-backup: archived WAL before $start_seg removed (oldest backup $oldest)"
  # pg_archivecleanup leaves backup history files (*.backup); expire them with the backups.
  find "$archive_dir" -maxdepth 1 -type f -name '*.backup' -mtime +"$retention_days" -delete
else
  echo "base-backup: could not read START WAL LOCATION from $oldest; WAL cleanup skipped" >&2
fi
