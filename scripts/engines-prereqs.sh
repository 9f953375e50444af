#!/usr/bin/env bash
# `npm run test:engines`'s pre-step: the engines suite builds its Java checkers and drivers with
# Maven on the default JDK (Trino runs on the newer Temurin JDK under /usr/lib/jvm when present).
# Installs the missing Debian packages when it can (root with apt-get); otherwise stops at once
# naming what is missing and the command that installs it. Never a silent skip.
set -uo pipefail
need=()
command -v java >/dev/null 2>&1 || need+=(default-jdk-headless)
command -v mvn >/dev/null 2>&1 || need+=(maven)
[ ${#need[@]} -eq 0 ] && exit 0
if [ -z "${FLOE_TEST_NO_INSTALL:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "npm run test:engines: installing missing Debian packages: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq "${need[@]}"; } >&2 && exit 0
fi
echo "npm run test:engines: missing ${need[*]}; install with: sudo apt-get update && sudo apt-get install -y ${need[*]}" >&2
exit 1
