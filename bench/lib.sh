# Shared set-up of the benchmark scripts (sourced after they set their own parameters):
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" NAME
# starts the private benchmark stack (.streamshop-bench, ports 32001–32003 unless STREAMSHOP_* say otherwise), gives
# $WORK = <stack dir>/bench-NAME (emptied), kills the pids in PIDS and stops the stack on exit, and defines pg, ch,
# now and confirmed.
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
STREAMSHOP=${STREAMSHOP:-$REPO/build/streamshop}
export STREAMSHOP_STACK_DIR=${STREAMSHOP_STACK_DIR:-$REPO/.streamshop-bench}
export STREAMSHOP_PG_PORT=${STREAMSHOP_PG_PORT:-32001} STREAMSHOP_CH_HTTP_PORT=${STREAMSHOP_CH_HTTP_PORT:-32002}
export STREAMSHOP_CH_TCP_PORT=${STREAMSHOP_CH_TCP_PORT:-32003}

bash "$REPO/scripts/stack.sh" up >/dev/null
WORK=$STREAMSHOP_STACK_DIR/bench-$1
rm -rf "$WORK" && mkdir -p "$WORK"
PIDS=()
bench_cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  bash "$REPO/scripts/stack.sh" down >/dev/null
}
trap bench_cleanup EXIT
# shellcheck disable=SC1091
source "$STREAMSHOP_STACK_DIR/env"
pg() { psql "$STREAMSHOP_PG_URL" -X -q -v ON_ERROR_STOP=1 -At "$@"; }
ch() { curl -sS --fail-with-body "$STREAMSHOP_CLICKHOUSE_URL/" --data-binary "$1"; }
now() { echo "$EPOCHREALTIME"; }
# confirmed LSN SLOT: "t" once the slot's confirmed_flush_lsn reached LSN.
confirmed() { pg -c "SELECT confirmed_flush_lsn >= '$1' FROM pg_replication_slots WHERE slot_name = '$2'"; }
