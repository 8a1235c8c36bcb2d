#!/usr/bin/env bash
# tools/coverage.sh - build with coverage, run the test suite, and write the
# lcov HTML report of the project's own code (tests filtered out) to
# reports/coverage/, plus a per-component text summary.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build-coverage}
OUT=reports/coverage

meson setup "$BUILD" -Db_coverage=true -Dbuildtype=debug >/dev/null
meson compile -C "$BUILD"
lcov --config-file .lcovrc --zerocounters --directory "$BUILD" >/dev/null
meson test -C "$BUILD" --print-errorlogs "$@"
lcov --config-file .lcovrc --capture --directory "$BUILD" --base-directory "$PWD/$BUILD" \
  --output-file "$BUILD/coverage.raw.info" >/dev/null 2>&1
lcov --config-file .lcovrc --remove "$BUILD/coverage.raw.info" '/usr/*' "*/tests/*" "*/$BUILD/*" \
  --output-file "$BUILD/coverage.info" >/dev/null
rm -rf "$OUT"
mkdir -p "$OUT"
genhtml --config-file .lcovrc --quiet --title natsim --output-directory "$OUT" "$BUILD/coverage.info"
echo "coverage by component:"
for component in proto broker client sim; do
  lcov --config-file .lcovrc --extract "$BUILD/coverage.info" "*/$component/*" \
    --output-file "$BUILD/$component.info" >/dev/null 2>&1 || continue
  lcov --config-file .lcovrc --summary "$BUILD/$component.info" 2>&1 |
    awk -v c="$component" '/lines|functions|branches/ { printf "  %-7s %s\n", c, $0 }' || true
done
echo "HTML report: $OUT/index.html"
