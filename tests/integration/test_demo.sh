#!/usr/bin/env bash
# The README's main command, non-interactively and small: the demo must finish with verify passing.
TEST_PORT_BASE=31600
source "$(dirname "$0")/lib.sh" "$1"
DEMO_TXNS=500 bash "$REPO/scripts/demo.sh" >"$LOG_DIR/demo.log" 2>&1 </dev/null || { tail -n 60 "$LOG_DIR/demo.log"; fail "demo failed"; }
grep -q "verify: all tables match" "$LOG_DIR/demo.log" || fail "demo did not verify"
grep -q "live_rows" "$LOG_DIR/demo.log" || fail "demo printed no summary"
tail -n 25 "$LOG_DIR/demo.log"
