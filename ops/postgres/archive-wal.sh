#!/bin/sh
# PostgreSQL archive_command: archive-wal.sh %p %f
#   %p  path of the finished WAL segment (relative to the data directory, the archiver's cwd)
#   %f  its file name
# Copies the segment into $WAL_ARCHIVE_DIR (default /wal-archive, the `wal-archive` volume).
# Contract with PostgreSQL: exit 0 only once the file is durably in the archive; any non-zero
# exit makes PostgreSQL keep the segment in pg_wal and retry the same file later.
# Never overwrites: an existing archive file is accepted only if byte-identical (PostgreSQL can
# re-archive a segment after a crash between our copy and its bookkeeping).
set -eu

if [ "$#" -ne 2 ]; then
  echo "usage: archive-wal.sh <%p> <%f>" >&2
  exit 2
fi

src=$1
name=$2
dir=${WAL_ARCHIVE_DIR:-/wal-archive}
dest="$dir/$name"
tmp="$dir/.$name.partial.$$"

if [ ! -d "$dir" ] || [ ! -w "$dir" ]; then
  echo "archive-wal: archive directory $dir is missing or not writable" >&2
  exit 1
fi

if [ -f "$dest" ]; then
  if cmp -s "$src" "$dest"; then
    exit 0
  fi
  echo "archive-wal: $dest already exists with different content; refusing to overwrite" >&2
  exit 1
fi

# Copy to a temporary name, flush it, then rename: a crash never leaves a truncated file
# under the final name (restore_command would happily replay a torn segment).
trap 'rm -f "$tmp"' EXIT
cp "$src" "$tmp"
sync "$tmp"
# test ! -f again right before the rename so two archivers can never clobber each other.
if [ -f "$dest" ]; then
  echo "archive-wal: $dest appeared while copying; refusing to overwrite" >&2
  exit 1
fi
mv "$tmp" "$dest"
trap - EXIT
# Persist the rename (directory entry) too.
sync "$dir"
exit 0
