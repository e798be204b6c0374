#!/usr/bin/env bash
# bootstrap.sh — install what streamshop needs on a Debian 12 machine. Idempotent.
#
# Usage: scripts/bootstrap.sh
#
# Checks every package with dpkg-query and installs only the missing ones with apt-get
# (apt-get update runs only when something is missing), so a re-run on a ready machine
# takes well under two seconds and changes nothing. Runs apt-get directly as root, through
# sudo otherwise; without either it fails and lists the missing packages.
set -euo pipefail

PACKAGES=(
  # build tools
  g++ cmake ninja-build make pkg-config clang-format
  # libraries
  libpq-dev libcurl4-openssl-dev libsimdjson-dev libfmt-dev libcli11-dev
  libtomlplusplus-dev libxxhash-dev libgtest-dev googletest libbenchmark-dev librdkafka-dev
  libcpp-httplib-dev  # the --http-listen server (header-only)
  # servers and clients run by scripts/stack.sh
  postgresql postgresql-contrib clickhouse-server clickhouse-client
  zookeeper  # coordination of the ClickHouse 18.16 cluster (`stack up --clickhouse-cluster`; run as a plain java process)
  # tools the scripts use
  procps psmisc curl iproute2 bc docker-compose  # docker-compose: `config` validates deploy/ (no engine needed)
  # runtimes of the external tools: dbt and chdb (Python), Kafka and Debezium (Java)
  python3-venv openjdk-17-jdk-headless maven jq
  # metrics tests: a real Prometheus server scrapes the pipeline; promtool checks /metrics and the alert rules
  prometheus
  # status page test: a real headless browser renders / (tests/integration/test_status_page.sh)
  chromium
  # benchmark plots (bench/plot.sh)
  gnuplot-nox
)

SUDO=()                          # prefix for privileged commands: empty as root, (sudo) otherwise
POLICY_RC=/usr/sbin/policy-rc.d

say() { echo "bootstrap: $*"; }
die() { echo "bootstrap: error: $*" >&2; exit 1; }

missing_packages() {
  local pkg
  for pkg in "${PACKAGES[@]}"; do
    [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] || echo "$pkg"
  done
}

install_debian_packages() {
  local missing
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    say "all ${#PACKAGES[@]} packages already installed; nothing to do"
    return 0
  fi

  if ((EUID != 0)); then
    command -v sudo >/dev/null ||
      die "not root and sudo is not available; as root run: apt-get install ${missing[*]}"
    SUDO=(sudo)
  fi

  # Without an init system (containers, CI sandboxes) a postinst that starts a service can fail
  # the install; a temporary policy-rc.d that answers 101 ("action forbidden") skips the start.
  # We do not use the system PostgreSQL cluster or ClickHouse service anyway.
  if [[ ! -d /run/systemd/system && ! -e "$POLICY_RC" ]]; then
    "${SUDO[@]}" sh -c "printf '#!/bin/sh\nexit 101\n' > $POLICY_RC && chmod 755 $POLICY_RC"
    trap '"${SUDO[@]}" rm -f "$POLICY_RC"' EXIT
  fi

  say "installing ${#missing[@]} missing package(s): ${missing[*]}"
  local log
  log=$(mktemp /tmp/streamshop-bootstrap.XXXXXX.log)
  local apt=("${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y)
  if ! { "${apt[@]}" update &&
         "${apt[@]}" -o Dpkg::Options::=--force-confold --no-install-recommends \
           install "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "apt-get failed (full log: $log)"
  fi
  rm -f "$log"

  mapfile -t missing < <(missing_packages)
  ((${#missing[@]} == 0)) || die "still missing after install: ${missing[*]}"
  say "installed the missing packages; all ${#PACKAGES[@]} packages are now present"
}

main() {
  install_debian_packages
  bash "$(dirname "${BASH_SOURCE[0]}")/bootstrap-python.sh"
  bash "$(dirname "${BASH_SOURCE[0]}")/bootstrap-kafka.sh"
}

main "$@"
