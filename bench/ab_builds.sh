#!/usr/bin/env bash
# Interleaved A/B of two build trees (docs/performance.md "Issue 17 changes"):
# one stack per build (1 slave, pinned), bench_load's data in each, the raw
# 16-client RPC floor on the first stack's broker before and after, then
# bench/ab.py over both. Run it under the shared lock:
#
#   flock /tmp/rs-systest.lock bench/ab_builds.sh BUILD_A BUILD_B ROUNDS SECONDS SCEN [JSON]
#
# SCEN: bench/ab.py --scen keys (e.g. list_max,get_max). Stacks on ports
# RIDESHARE_AB_PORT_A (28100) and RIDESHARE_AB_PORT_B (28300), in
# /tmp/rs-ab-<port>, always stopped and deleted at the end.
set -uo pipefail
A=$(realpath "$1") B=$(realpath "$2") ROUNDS=$3 SECS=$4 SCEN=$5 JSON=${6:-/dev/null}
PA=${RIDESHARE_AB_PORT_A:-28100} PB=${RIDESHARE_AB_PORT_B:-28300}
cd "$(dirname "$0")/.." || exit 1

up() {
	RIDESHARE_PORT_BASE=$1 RIDESHARE_STACK_DIR=/tmp/rs-ab-$1 RIDESHARE_BUILD_DIR=$2 \
		RIDESHARE_MIN_SLAVES=1 RIDESHARE_MAX_SLAVES=1 RIDESHARE_NO_BUILD=1 \
		./rideshare up --detach >"/tmp/rs-ab-up-$1.log" 2>&1 \
		|| { echo "up $1 failed:"; tail -20 "/tmp/rs-ab-up-$1.log"; exit 1; }
}
down() {
	RIDESHARE_STACK_DIR=/tmp/rs-ab-$1 ./rideshare down >/dev/null 2>&1
	rm -rf "/tmp/rs-ab-$1"
}
amqp() { cat "/tmp/rs-ab-$1/secrets/amqp_url"; }
floor() { "$A/bench/rpc_floor" --url "$(amqp "$PA")" --clients 16 --seconds 5 | tail -1; }
batches() {
	curl -s "http://127.0.0.1:$(($1 + 10))/metrics" \
		| grep -E '^rideshare_orch_(read_batch|write_batch|request_batch|requests_total)' || true
	for gw in 1 2; do # users, rides: their RPC messages and batches
		curl -s "http://127.0.0.1:$(($1 + gw))/metrics" \
			| grep -E '^rideshare_gw_rpc_(calls|messages|batches|batched_calls)_total' \
			| sed "s/^/+$gw /" || true
	done
}

trap 'down "$PA"; down "$PB"' EXIT
up "$PA" "$A"
up "$PB" "$B"
for p in "$PA" "$PB"; do
	"$A/bench/bench_load" --url "$(amqp "$p")" --users 100 --rides 10000 | tail -1
done
uptime
floor
python3 bench/ab.py --scen "$SCEN" --json "$JSON" "$ROUNDS" "$SECS" before="$PA" after="$PB"
floor
uptime
echo "after stack:"
batches "$PB"
