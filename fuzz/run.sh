#!/usr/bin/env bash
# Builds the libFuzzer harnesses (clang, ASan + UBSan) in build-fuzz/ and
# runs each for SECONDS (default 30) on its corpus in fuzz/corpus/<name>/.
# New inputs go to build-fuzz/fuzz/corpus-<name>/ (the seeds stay as they
# are); crashes to build-fuzz/fuzz/crash-<name>-*. Exit 1 on any finding.
# RIDESHARE_FUZZ_SEED=N makes a run repeatable (the ctest `fuzz` uses 1, so
# CI explores the same inputs as a developer's run with that seed; runs
# without it explore new ground).
#   fuzz/run.sh [SECONDS] [HARNESS...]
set -euo pipefail
ROOT=$(cd "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/.." && pwd)
SECONDS_EACH=${1:-30}
shift || true
BUILD=${RIDESHARE_FUZZ_BUILD_DIR:-$ROOT/build-fuzz}
CC_FUZZ=${CC_FUZZ:-$(command -v clang-14 || command -v clang)}
HARNESSES=("$@")
((${#HARNESSES[@]})) || HARNESSES=(pbjson gw_body http wire)

CC=$CC_FUZZ cmake -S "$ROOT" -B "$BUILD" -DRIDESHARE_FUZZ=ON -DRIDESHARE_SANITIZE=ON \
	-DRIDESHARE_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
targets=()
for h in "${HARNESSES[@]}"; do targets+=(--target "fuzz_$h"); done
cmake --build "$BUILD" --parallel "$(nproc)" "${targets[@]}"

rc=0
for h in "${HARNESSES[@]}"; do
	work=$BUILD/fuzz/corpus-$h
	mkdir -p "$work"
	echo "fuzz: $h for ${SECONDS_EACH}s"
	# -detect_leaks: LeakSanitizer is part of ASan on Linux.
	if ! (cd "$BUILD/fuzz" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		"./fuzz_$h" -max_total_time="$SECONDS_EACH" -print_final_stats=1 \
		${RIDESHARE_FUZZ_SEED:+-seed="$RIDESHARE_FUZZ_SEED"} \
		-artifact_prefix="crash-$h-" -dict="$ROOT/fuzz/json.dict" \
		"$work" "$ROOT/fuzz/corpus/$h") 2>"$BUILD/fuzz/$h.log"; then
		echo "fuzz: $h FOUND something: $BUILD/fuzz/$h.log" >&2
		tail -40 "$BUILD/fuzz/$h.log" >&2
		rc=1
	fi
	grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$BUILD/fuzz/$h.log" | sed "s/^/fuzz: $h /"
done
exit $rc
