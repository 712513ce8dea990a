#!/usr/bin/env bash
# The HTML report's picture and numbers (README "Run reports"):
#   1. docs/report.png: the report of tests/report_fleet.rs's rolling deploy on the fleet,
#      as headless Chromium draws it (the test keeps its screenshot there).
#   2. The size of a synthetic 500 hosts x 50 tasks report (the renderer's unit test writes it)
#      and the time headless Chromium takes with it: parsing and first layout as the page
#      itself measures them (performance.now(), through a copy with one script added), and
#      the CPU seconds of a whole headless screenshot, against a one-host page's.
# Needs the fleet's dependencies (bash tests/fleet/fleet.sh deps installs chromium).
# Usage: bash docs/report.sh [--no-fleet]
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
CHROMIUM=(chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars
  --window-size=1280,1000)

if [ "${1:-}" != "--no-fleet" ]; then
  PREFIX=baton-docs
  bash tests/fleet/fleet.sh deps
  bash tests/fleet/fleet.sh up 3 --prefix "$PREFIX"
  trap 'bash tests/fleet/fleet.sh down --prefix "$PREFIX"; rm -rf "$WORK"' EXIT
  BATON_FLEET_DIR="$ROOT/.fleet/$PREFIX" BATON_REPORT_SCREENSHOT="$ROOT/docs/report.png" \
    cargo test --features fleet --test report_fleet
  echo "docs/report.png: $(stat -c %s docs/report.png) bytes"
fi

BATON_REPORT_SAMPLE="$WORK/big.html" cargo test --lib output::report::tests::five_hundred
echo "500 hosts x 50 tasks: $(stat -c %s "$WORK/big.html") bytes, $(gzip -c "$WORK/big.html" | wc -c) gzipped"
# The page times itself: parsed (script at its end ran) and laid out (a forced layout).
measure='<script>var p=performance.now();document.body.getBoundingClientRect();var l=performance.now();document.title="parsed "+p.toFixed(0)+" ms, laid out "+(l-p).toFixed(0)+" ms later";</script>'
sed "s#</body></html>#${measure}</body></html>#" "$WORK/big.html" >"$WORK/timed.html"
for i in 1 2 3; do
  "${CHROMIUM[@]}" --dump-dom "file://$WORK/timed.html" 2>/dev/null | grep -o '<title>[^<]*</title>'
done
cpu() { /usr/bin/time -f '%U %S' "${CHROMIUM[@]}" --screenshot="$WORK/shot.png" "file://$1" 2>&1 >/dev/null |
  tail -1 | awk '{printf "%.2f", $1 + $2}'; }
printf '<!DOCTYPE html><html><body><p>one host</p></body></html>' >"$WORK/small.html"
for i in 1 2 3; do
  echo "headless screenshot CPU seconds: 500x50 page $(cpu "$WORK/big.html"), one-line page $(cpu "$WORK/small.html")"
done
