#!/usr/bin/env bash
# bootstrap-kafka.sh — fetch the pinned Apache Kafka and Debezium jars from Maven Central. Idempotent.
#
# Usage: scripts/bootstrap-kafka.sh [--quiet] [all|kafka|debezium]      (default: all)
#
#   --quiet   print nothing when everything is ready (stack.sh and debezium.sh call it that way)
#   kafka     scripts/kafka/pom.xml           -> <deps>/kafka/lib       (broker, KRaft, console tools)
#   debezium  scripts/kafka/debezium/pom.xml  -> <deps>/debezium/lib    (Kafka Connect worker)
#                                             -> <deps>/debezium/plugins/debezium-connector-postgres
#
# Each set is fetched with `mvn dependency:copy-dependencies` only when it is missing or its pom changed
# (the sha256 of the pom is stored beside the jars once a fetch completed), so a re-run on a ready machine
# starts no JVM and takes milliseconds. A fetch fills a temporary dir and swaps it in, so an interrupted
# run leaves the previous set (or none) and is simply retried. Concurrent runs serialize on a lock.
#
# Environment:
#   STREAMSHOP_DEPS_DIR      where the jars go (default <repo>/.streamshop-deps)
#   STREAMSHOP_MAVEN_REPO    Maven local repository (default: Maven's, ~/.m2/repository)
# Requires java (17+) and mvn: Debian packages openjdk-17-jre-headless and maven.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
DEPS_DIR=$(realpath -m "${STREAMSHOP_DEPS_DIR:-$REPO/.streamshop-deps}")
KAFKA_POM=$REPO/scripts/kafka/pom.xml
DEBEZIUM_POM=$REPO/scripts/kafka/debezium/pom.xml

say() { echo "bootstrap-kafka: $*"; }
die() { echo "bootstrap-kafka: error: $*" >&2; exit 1; }

pom_hash() { sha256sum "$1" | cut -d' ' -f1; }

# ready <set dir> <pom>: the set was fetched completely from this very pom.
ready() { [[ -f "$1/.pom.sha256" && "$(cat "$1/.pom.sha256")" == "$(pom_hash "$2")" ]]; }

# copy_deps <pom> <output dir> [mvn args...]: runtime dependencies of <pom> into <output dir>.
copy_deps() {
  local pom=$1 out=$2; shift 2
  local log="$DEPS_DIR/.mvn.log"
  local mvn=(mvn -B -q -f "$pom")
  [[ -n "${STREAMSHOP_MAVEN_REPO:-}" ]] && mvn+=("-Dmaven.repo.local=$STREAMSHOP_MAVEN_REPO")
  if ! "${mvn[@]}" "$@" dependency:copy-dependencies -DincludeScope=runtime \
         -DoutputDirectory="$out" >"$log" 2>&1; then
    grep -E '^\[ERROR\]' "$log" | head -n 20 >&2 || tail -n 20 "$log" >&2
    die "mvn failed for $pom (full log: $log)"
  fi
  rm -f "$log"
  compgen -G "$out/*.jar" >/dev/null || die "mvn copied no jars into $out"
}

# fetch <set dir> <pom> <label> <(subdir profile)...>: fills <set dir>.tmp, then swaps it in.
fetch() {
  local dir=$1 pom=$2 label=$3; shift 3
  if ready "$dir" "$pom"; then
    say "$label: ready ($dir)"
    return 0
  fi
  local started=$SECONDS tmp="$dir.tmp"
  say "$label: fetching jars from Maven Central (pom $pom)"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  while (($# > 0)); do
    local sub=$1 profile=$2; shift 2
    if [[ -n "$profile" ]]; then copy_deps "$pom" "$tmp/$sub" -P "$profile"; else copy_deps "$pom" "$tmp/$sub"; fi
  done
  pom_hash "$pom" >"$tmp/.pom.sha256"
  rm -rf "$dir"
  mv "$tmp" "$dir"
  say "$label: $(find "$dir" -name '*.jar' | wc -l) jars, $(du -sh "$dir" | cut -f1) in $((SECONDS - started)) s ($dir)"
}

main() {
  local quiet=0
  [[ "${1:-}" == --quiet ]] && { quiet=1; shift; }
  local what=${1:-all}
  case "$what" in all | kafka | debezium) ;; *) sed -n '2,14s/^# \{0,1\}//p' "$0" >&2; exit 2 ;; esac
  mkdir -p "$DEPS_DIR"
  # Fast path without a lock, tools or JVM.
  if { [[ "$what" == debezium ]] || ready "$DEPS_DIR/kafka" "$KAFKA_POM"; } &&
     { [[ "$what" == kafka ]] || ready "$DEPS_DIR/debezium" "$DEBEZIUM_POM"; }; then
    ((quiet)) || say "$what: ready ($DEPS_DIR); nothing to do"
    return 0
  fi
  command -v java >/dev/null || die "java not found; install Debian package openjdk-17-jre-headless"
  command -v mvn >/dev/null || die "mvn not found; install Debian package maven"
  exec 9>"$DEPS_DIR/.lock"
  flock 9
  if [[ "$what" != debezium ]]; then
    fetch "$DEPS_DIR/kafka" "$KAFKA_POM" kafka lib ""
  fi
  if [[ "$what" != kafka ]]; then
    fetch "$DEPS_DIR/debezium" "$DEBEZIUM_POM" debezium lib connect plugins/debezium-connector-postgres connector
  fi
}

main "$@"
