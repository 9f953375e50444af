#!/usr/bin/env bash
# `npm test`'s pretest: finds what the suite needs outside npm, installs the missing Debian packages
# when it can (root with apt-get), and otherwise stops at once with one message naming what is
# missing and the command that installs it. Never a silent skip: a test that cannot run fails here.
#
# Needs:
# - /usr/bin/python3 with the modules avro, snappy and zstandard (Debian python3-avro,
#   python3-snappy, python3-zstandard): the independent Avro reader/writer the tests check with;
# - /usr/bin/chromium (Debian chromium): the tracker browser test;
# - PostgreSQL with trust auth on 127.0.0.1:5432, or FLOE_TEST_PG_URL's host and port; a local
#   cluster that is installed but down is started (root with pg_ctlcluster).
# FLOE_TEST_NO_INSTALL=1 only reports (no apt-get, no starting PostgreSQL).
set -uo pipefail

PYTHON="${FLOE_TEST_PYTHON:-/usr/bin/python3}"
CHROMIUM="${FLOE_TEST_CHROMIUM:-/usr/bin/chromium}"

missing_packages() {
  local need=() mod pkg
  for mod in avro snappy zstandard; do
    case "$mod" in
      avro) pkg=python3-avro ;;
      snappy) pkg=python3-snappy ;;
      zstandard) pkg=python3-zstandard ;;
    esac
    # An absent interpreter fails every import: then python3 itself is missing too.
    if [ ! -x "$PYTHON" ]; then
      need+=(python3 "$pkg")
    elif ! "$PYTHON" -c "import $mod" >/dev/null 2>&1; then
      need+=("$pkg")
    fi
  done
  [ -x "$CHROMIUM" ] || need+=(chromium)
  printf '%s\n' "${need[@]}" | awk 'NF && !seen[$0]++' | paste -sd ' ' -
}

can_install() {
  [ -z "${FLOE_TEST_NO_INSTALL:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1
}

fail() {
  echo "npm test: $1" >&2
  exit 1
}

need="$(missing_packages)"
if [ -n "$need" ]; then
  if can_install; then
    echo "npm test: installing missing Debian packages: $need" >&2
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # one word per package
    { apt-get update -qq && apt-get install -y -qq $need; } >&2 ||
      fail "apt-get could not install: $need (run: apt-get update && apt-get install -y $need)"
    need="$(missing_packages)"
    [ -z "$need" ] || fail "still missing after apt-get install: $need"
  else
    fail "missing Debian packages the tests need: $need
  install them with: sudo apt-get update && sudo apt-get install -y $need"
  fi
fi

# PostgreSQL: FLOE_TEST_PG_URL's host:port, else the local default.
pg_host=127.0.0.1
pg_port=5432
if [ -n "${FLOE_TEST_PG_URL:-}" ]; then
  hostport="$(printf '%s' "$FLOE_TEST_PG_URL" | sed -E 's#^[a-z]+://([^@/]*@)?([^/?]*).*#\2#')"
  pg_host="${hostport%%:*}"
  [ "$hostport" != "$pg_host" ] && pg_port="${hostport##*:}"
fi
pg_up() { (exec 3<>"/dev/tcp/$pg_host/$pg_port") 2>/dev/null; }
if ! pg_up; then
  if [ -z "${FLOE_TEST_PG_URL:-}" ] && [ -z "${FLOE_TEST_NO_INSTALL:-}" ] && [ "$(id -u)" = 0 ] &&
    command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    echo "npm test: starting PostgreSQL $version (cluster main)" >&2
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2 || true
    for _ in $(seq 1 30); do pg_up && break; sleep 1; done
  fi
  pg_up || fail "no PostgreSQL at $pg_host:$pg_port (the tests need one with trust auth for user postgres;
  start it, e.g. pg_ctlcluster <version> main start, or set FLOE_TEST_PG_URL)"
fi
