#!/bin/sh
# Builds the Check suite and runs it; with AIRLOCK_REPORT set, Check writes TAP there.
set -eu
cd "$(dirname "$0")/.."
cc -std=c99 -Isrc -o /tmp/check_calc tests/check_calc.c src/calc.c $(pkg-config --cflags --libs check)
if [ -n "${AIRLOCK_REPORT:-}" ]; then
	export CK_TAP_LOG_FILE_NAME="$AIRLOCK_REPORT"
fi
exec /tmp/check_calc
