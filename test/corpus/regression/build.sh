#!/usr/bin/env bash
# Builds (once, then from the cache) PostgreSQL's own regression database: the database pg_upgrade's tests dump,
# made by running the server's regression suite from Debian's source package of the installed postgresql-15.
#
#   bash test/corpus/regression/build.sh        # progress on stderr; the cache folder on the last stdout line
#
# The result, in ${PGOPS_CORPUS_DIR:-/var/tmp/pgops-corpus}/regression-<server Debian version>/:
#   data/       a STOPPED cluster (superuser root, trust) holding the database "regression"
#   build/      regress.so, autoinc.so, refint.so: the database's C functions name them by this absolute path,
#               so the folder never moves and must stay readable by the postgres user (not under /root)
#   COPYRIGHT   PostgreSQL's license, from the same source
#   ready       written last: a cache without it is half-built and is rebuilt
set -euo pipefail

PG_MAJOR=15
PKG=postgresql-$PG_MAJOR
# bump when the recipe below changes what the cache holds, so old caches are rebuilt
RECIPE=1
SRC_LIST=/etc/apt/sources.list.d/pgops-src.sources

say() { echo "corpus: $*" >&2; }
die() {
  echo "corpus: error: $1" >&2
  [ -n "${2:-}" ] && echo "HINT: $2" >&2
  exit 1
}
is_root() { [ "$(id -u)" -eq 0 ]; }
# server programs refuse root (initdb) or must write where the server can read (pg_regress): run them as postgres
as_server() { if is_root; then runuser -u postgres -- "$@"; else "$@"; fi; }

server_version=$(dpkg-query -W -f='${Version}' "$PKG" 2>/dev/null || true)
[ -n "$server_version" ] || die "$PKG is not installed" "apt-get install $PKG (or run .ci/run, which installs it)"
bindir=/usr/lib/postgresql/$PG_MAJOR/bin
pg_config=$bindir/pg_config

root=${PGOPS_CORPUS_DIR:-/var/tmp/pgops-corpus}
cache=$root/regression-${server_version//[^A-Za-z0-9.+~-]/_}
marker_want="recipe=$RECIPE server=$server_version"

mkdir -p "$root"
chmod 755 "$root" 2>/dev/null || true
# one build at a time: a second caller waits here, then finds the cache ready
exec 9>"$root/.lock"
flock 9

if [ -f "$cache/ready" ] && [ "$(head -n 1 "$cache/ready")" = "$marker_want" ]; then
  say "using the cache at $cache ($(sed -n 2p "$cache/ready"))"
  echo "$cache"
  exit 0
fi
[ -e "$cache" ] && say "removing the stale or half-built cache at $cache" && rm -rf "$cache"

sock=""
cleanup() {
  local rc=$?
  if [ -n "$sock" ]; then
    [ -f "$cache/data/postmaster.pid" ] && as_server "$bindir/pg_ctl" -D "$cache/data" -m immediate -w stop >/dev/null 2>&1
    rm -rf "$sock"
  fi
  if [ $rc -ne 0 ]; then
    say "build failed: removing $cache so that a half-done cache never looks done"
    rm -rf "$cache"
  fi
}
trap cleanup EXIT

started=$SECONDS
say "building the regression database for $PKG $server_version into $cache"

# --- install what is missing (root only, and only what is missing) ---
# grep -c, not grep -q: under pipefail, -q's early exit makes apt-cache die of SIGPIPE and the pipe "fail"
has_source() { [ "$(apt-cache showsrc "$PKG" 2>/dev/null | grep -c "^Package: $PKG\$")" -gt 0 ]; }
need_root() { is_root || die "$1 and only root installs it" "$2"; }

if ! has_source; then
  need_root "apt knows no source of $PKG (no deb-src line)" "add deb-src lines for your distribution and apt-get update, or run this script as root"
  if [ ! -e "$SRC_LIST" ]; then
    # shellcheck disable=SC1091
    . /etc/os-release
    [ "${ID:-}" = debian ] || die "cannot add a deb-src line on ${PRETTY_NAME:-this system} (only Debian is known)" "add deb-src lines for $PKG to /etc/apt/sources.list.d/ and apt-get update"
    say "adding deb-src lines for $VERSION_CODENAME to $SRC_LIST"
    cat >"$SRC_LIST" <<EOF
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: $VERSION_CODENAME $VERSION_CODENAME-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: $VERSION_CODENAME-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
  say "apt-get update"
  apt-get update -qq
  has_source || die "apt still knows no source of $PKG after apt-get update" "check $SRC_LIST and apt-cache showsrc $PKG"
fi

missing=()
# unpinned, server-dev would pull in a newer postgresql-15 from -security, whose source may not be fetchable
dev_version=$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' "postgresql-server-dev-$PG_MAJOR" 2>/dev/null || true)
case "$dev_version" in
  ii*) [ "${dev_version#ii }" = "$server_version" ] || say "warning: postgresql-server-dev-$PG_MAJOR is ${dev_version#ii }, the server $server_version (same major, so the modules still load)" ;;
  *) missing+=("postgresql-server-dev-$PG_MAJOR=$server_version") ;;
esac
command -v make >/dev/null || missing+=(make)
command -v "$("$pg_config" --cc | cut -d' ' -f1)" >/dev/null || missing+=(gcc)
command -v bzip2 >/dev/null || missing+=(bzip2)
if [ ${#missing[@]} -gt 0 ]; then
  need_root "missing: ${missing[*]}" "apt-get install ${missing[*]}"
  say "apt-get install ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
[ "$(dpkg-query -W -f='${Version}' "$PKG")" = "$server_version" ] || die "installing the build tools changed $PKG from $server_version" "pin it: apt-get install $PKG=$server_version"

# --- the source: the installed server's version, else the newest fetchable one ---
mkdir -p "$cache/src"
chmod 755 "$cache" "$cache/src"
cd "$cache/src"
source_version=""
for v in "$server_version" $(apt-cache showsrc "$PKG" | sed -n 's/^Version: //p' | sort -rVu | grep -vxF "$server_version"); do
  # apt-get runs as root without its _apt sandbox here: the note about that is noise
  if apt-get source --download-only -qq "$PKG=$v" >apt-source.log 2>&1; then source_version=$v; break; fi
  say "the source of $PKG $v is not fetchable: $(grep -m1 -E '^(E|Err):' apt-source.log || tail -n 1 apt-source.log)"
done
[ -n "$source_version" ] || die "no version of the $PKG source is fetchable" "check the deb-src lines in $SRC_LIST and the network; apt-cache showsrc $PKG lists what apt knows"
[ "$source_version" = "$server_version" ] || say "warning: using the source of $source_version for the server $server_version (the exact version is not fetchable)"
upstream=${source_version#*:}
upstream=${upstream%-*}
top=postgresql-$upstream
tarballs=("${PKG}_$upstream".orig.tar.*)
tarball=${tarballs[0]}
[ -f "$tarball" ] || die "apt-get source fetched no ${PKG}_$upstream.orig.tar.*" "see $cache/src/apt-source.log"
say "fetched $tarball; extracting the regression suite, contrib/spi and COPYRIGHT"
tar -xf "$tarball" "$top/src/test/regress" "$top/contrib/spi" "$top/COPYRIGHT"
src=$cache/src/$top
cp "$src/COPYRIGHT" "$cache/COPYRIGHT"

# --- the C modules the suite loads (PGXS against the installed server) ---
mkdir -p "$cache/build"
cp "$src/src/test/regress/regress.c" "$src/contrib/spi/autoinc.c" "$src/contrib/spi/refint.c" "$cache/build/"
cat >"$cache/build/Makefile" <<EOF
MODULES = regress autoinc refint
# the triggers test expects refint's NOTICEs, as contrib/spi's own Makefile builds it
PG_CPPFLAGS = -DREFINT_VERBOSE
PG_CONFIG = $pg_config
PGXS := \$(shell \$(PG_CONFIG) --pgxs)
include \$(PGXS)
EOF
say "building regress.so, autoinc.so, refint.so"
make -C "$cache/build" -j"$(nproc)" >"$cache/build/make.log" 2>&1 || { tail -n 20 "$cache/build/make.log" >&2; die "the modules did not build" "see $cache/build/make.log"; }
for m in regress autoinc refint; do [ -f "$cache/build/$m.so" ] || die "make built no $m.so" "see $cache/build/make.log"; done

# --- a cluster and the regression suite ---
mkdir -p "$cache/data" "$cache/regress"
touch "$cache/server.log"
chmod 700 "$cache/data"
# the server writes its log, and COPY TO files into pg_regress's output folder
is_root && chown postgres:postgres "$cache/data" "$cache/regress" "$cache/server.log"
as_server test -r "$cache/build/regress.so" -a -r "$src/src/test/regress/parallel_schedule" ||
  die "the postgres user cannot read $cache" "set PGOPS_CORPUS_DIR to a folder every user can traverse (the default is /var/tmp/pgops-corpus)"
cd "$cache"
say "initdb"
as_server "$bindir/initdb" -D "$cache/data" -U root --auth=trust -E UTF8 --locale=C.UTF-8 -N >"$cache/initdb.log" 2>&1 || { cat "$cache/initdb.log" >&2; die "initdb failed" "see $cache/initdb.log"; }
# a Unix socket in a short private folder and no TCP: no port to collide with, and sun_path stays under its limit
sock=$(mktemp -d /tmp/pgops-corpus-sock.XXXXXX)
chmod 755 "$sock"
is_root && chown postgres:postgres "$sock"
port=5432
# only on the command line, so the cached postgresql.conf stays initdb's; small WAL keeps the cache small
as_server "$bindir/pg_ctl" -D "$cache/data" -w -l "$cache/server.log" \
  -o "-p $port -c listen_addresses= -c unix_socket_directories=$sock -c fsync=off -c max_wal_size=64MB -c min_wal_size=32MB -c checkpoint_timeout=30s" \
  start >/dev/null || { tail -n 20 "$cache/server.log" >&2; die "the server did not start" "see $cache/server.log"; }
psql_() { "$bindir/psql" -X -A -t -q -h "$sock" -p "$port" -U root "$@"; }

pg_regress=$(dirname "$("$pg_config" --pgxs)")/../test/regress/pg_regress
say "running the regression suite (pg_regress, about half a minute)"
rc=0
as_server "$pg_regress" --inputdir="$src/src/test/regress" --outputdir="$cache/regress" --bindir="$bindir" --dlpath="$cache/build" \
  --schedule="$src/src/test/regress/parallel_schedule" --host="$sock" --port="$port" --user=root --max-connections=8 \
  >"$cache/regress/pg_regress.log" 2>&1 || rc=$?
summary=$(grep -E 'tests? (passed|failed)' "$cache/regress/pg_regress.log" | sed 's/^ *//; s/ *$//' | paste -sd ' ' || true)
# exit 1 means some tests failed: the database is still what we want; anything else means pg_regress did not run
if [ $rc -gt 1 ] || [ -z "$summary" ]; then
  tail -n 20 "$cache/regress/pg_regress.log" >&2
  die "pg_regress could not run (exit $rc)" "see $cache/regress/pg_regress.log and $cache/server.log"
fi
say "pg_regress: $summary"
[ $rc -eq 0 ] || say "some tests failed (the database is kept): the differences are in $cache/regress/regression.diffs"
[ "$(psql_ -d postgres -c "SELECT count(*) FROM pg_database WHERE datname = 'regression'")" = 1 ] ||
  die "pg_regress left no database regression" "see $cache/regress/pg_regress.log"
say "left behind: databases $(psql_ -d postgres -c "SELECT string_agg(datname, ' ' ORDER BY datname) FROM pg_database");" \
  "roles $(psql_ -d postgres -c "SELECT string_agg(rolname, ' ' ORDER BY rolname) FROM pg_roles WHERE rolname !~ '^pg_'");" \
  "tablespaces $(psql_ -d postgres -c "SELECT string_agg(spcname, ' ' ORDER BY spcname) FROM pg_tablespace")"

psql_ -d postgres -c CHECKPOINT
as_server "$bindir/pg_ctl" -D "$cache/data" -m fast -w stop >/dev/null
# fsync was off while the suite ran: make the stopped cluster durable before calling the cache done
as_server "$bindir/initdb" -D "$cache/data" --sync-only >/dev/null
rm -rf "$sock"
sock=""

printf '%s\nsource=%s pg_regress: %s\n' "$marker_want" "$source_version" "$summary" >"$cache/ready.tmp"
mv "$cache/ready.tmp" "$cache/ready"
say "built in $((SECONDS - started)) s: $(du -sh "$cache/data" | cut -f1) of cluster data"
echo "$cache"
