#!/usr/bin/env bash
# bootstrap-python.sh — the Python tools of the analytics layer (dbt-core, dbt-clickhouse, chdb) in <repo>/.venv.
# Idempotent.
#
# Usage: scripts/bootstrap-python.sh
#
# Installs exactly the versions pinned in requirements-dbt.txt into a virtualenv. When the venv was built from the
# same requirements file (its SHA-256, together with the venv interpreter's version, is recorded in
# .venv/.streamshop-requirements) and its python still runs as that version, a re-run only compares that stamp:
# it takes a few milliseconds and changes nothing. When the requirements changed, a venv this script made is
# rebuilt from scratch (no stale packages survive); a .venv it did not make is installed into, never deleted.
# The stamp is written last, so an interrupted install is redone on the next run. Concurrent runs serialise on a
# lock.
#
# Environment:
#   STREAMSHOP_PYTHON  interpreter to create the venv with (default: python3 on PATH); Python 3.10 – 3.13.
#                      Used only when the venv is (re)created; to switch interpreters, delete .venv.
#   STREAMSHOP_VENV    venv directory (default: <repo>/.venv)
# Needs the network to PyPI only when something must be installed. Creating a venv needs Python's venv module;
# on Debian that is the python3-venv package, which is installed with apt-get when missing (as root, or sudo).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
REQUIREMENTS=$REPO/requirements-dbt.txt
VENV=${STREAMSHOP_VENV:-$REPO/.venv}
PYTHON=${STREAMSHOP_PYTHON:-python3}
STAMP=$VENV/.streamshop-requirements

say() { echo "bootstrap-python: $*"; }
die() { echo "bootstrap-python: error: $*" >&2; exit 1; }

[[ -f "$REQUIREMENTS" ]] || die "missing $REQUIREMENTS"

# The stamp: the requirements' hash and the version of the venv's own interpreter (so a venv whose Python was
# replaced underneath it is rebuilt; which python3 is on PATH today does not matter once the venv exists).
stamp_for_venv() {
  local py_version
  py_version=$("$VENV/bin/python" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null) || return 1
  echo "requirements-sha256=$(sha256sum "$REQUIREMENTS" | cut -d' ' -f1) python=$py_version"
}

up_to_date() {
  local want
  [[ -f "$STAMP" ]] && want=$(stamp_for_venv) && [[ "$(cat "$STAMP")" == "$want" ]]
}

# Debian splits the venv module (ensurepip) into python3-venv; install it when it is what is missing.
ensure_venv_module() {
  "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null && return 0
  command -v apt-get >/dev/null || die "'$PYTHON' lacks the venv/ensurepip modules; install them"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null || die "'$PYTHON' lacks ensurepip; as root run: apt-get install python3-venv"
    sudo=(sudo)
  fi
  say "installing python3-venv (Python's venv module)"
  if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y update &&
         "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends install python3-venv
       } >/dev/null; then
    die "apt-get install python3-venv failed"
  fi
  "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || die "'$PYTHON' still lacks the venv module"
}

main() {
  if up_to_date; then
    say "$VENV is up to date with requirements-dbt.txt; nothing to do"
    return 0
  fi

  # Serialise concurrent runs (lock on the requirements file itself: no extra file in the repo), then re-check.
  exec 9<"$REQUIREMENTS"
  flock 9
  if up_to_date; then
    say "$VENV is up to date with requirements-dbt.txt; nothing to do"
    return 0
  fi

  if [[ -f "$STAMP" ]]; then
    say "$VENV is out of date (requirements-dbt.txt or its interpreter changed) or broken; rebuilding it"
    rm -rf "$VENV"
  elif [[ -e "$VENV" ]] && ! "$VENV/bin/python" -c '' 2>/dev/null; then
    [[ -f "$VENV/pyvenv.cfg" ]] || die "$VENV exists but is not a virtualenv; move it away"
    say "$VENV is broken (its interpreter does not run); rebuilding it"
    rm -rf "$VENV"
  fi
  if [[ ! -e "$VENV" ]]; then
    "$PYTHON" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else 1)' 2>/dev/null ||
      die "'$PYTHON' ($("$PYTHON" --version 2>&1)) cannot be used: the pinned dbt/chdb need Python 3.10 – 3.13;" \
        "set STREAMSHOP_PYTHON"
    ensure_venv_module
    say "creating $VENV with $("$PYTHON" --version 2>&1)"
    "$PYTHON" -m venv "$VENV" || die "python -m venv $VENV failed"
  fi
  "$VENV/bin/python" -c 'import sys; sys.exit(0 if (3, 10) <= sys.version_info[:2] <= (3, 13) else 1)' ||
    die "$VENV has $("$VENV/bin/python" --version 2>&1); the pinned dbt/chdb need Python 3.10 – 3.13"

  local log started=$SECONDS
  log=$(mktemp /tmp/streamshop-bootstrap-python.XXXXXX.log)
  say "installing the pinned packages of requirements-dbt.txt (dbt-core, dbt-clickhouse, chdb; ~1 GB)"
  if ! { "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input -r "$REQUIREMENTS" &&
         "$VENV/bin/python" -m pip check; } >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    die "pip install failed (full log: $log)"
  fi
  # The tools must actually load: dbt with the ClickHouse adapter, and the chdb engine.
  "$VENV/bin/python" -c 'import dbt.adapters.clickhouse' 2>>"$log" ||
    die "the dbt ClickHouse adapter does not load (log: $log)"
  "$VENV/bin/python" -c 'import chdb; chdb.query("SELECT 1")' >/dev/null 2>>"$log" ||
    die "chdb does not load (log: $log)"
  rm -f "$log"

  stamp_for_venv >"$STAMP.tmp" && mv "$STAMP.tmp" "$STAMP"
  say "installed in $((SECONDS - started)) s: $("$VENV/bin/python" -c 'from importlib.metadata import version as v
print(", ".join(p + " " + v(p) for p in ("dbt-core", "dbt-clickhouse", "chdb", "chdb-core")))')"
}

main "$@"
