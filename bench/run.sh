#!/usr/bin/env bash
# ./rideshare bench: throughput and latency of RideShare-C against the limits
# of its parts, measured in one run on this machine (issue 7,
# docs/performance.md).
#
#   bench/run.sh [--duration S] [--conns N] [--no-scaling] [--quick]
#
#   --duration S   seconds of every timed wrk run (default 10)
#   --conns N      wrk connections of the end-to-end runs (default 16 = the
#                  services' RIDESHARE_HTTP_THREADS; CivetWeb serves one
#                  keep-alive connection per worker thread)
#   --no-scaling   skip the 2- and 4-slave and the autoscaled stacks
#   --quick        --duration 3, floors shortened (a smoke run, not numbers)
#
# What it does, all on 127.0.0.1 ports from RIDESHARE_BENCH_PORT_BASE
# (default 26000) with the stack in /tmp/rs-bench-<base>:
#   1. builds the services and the bench programs (unless RIDESHARE_NO_BUILD=1)
#   2. limits of the parts, before any stack runs: civet_floor (rs_http and
#      raw CivetWeb, driven by wrk)
#   3. starts a throwaway stack with exactly 1 slave (RIDESHARE_MIN_SLAVES =
#      RIDESHARE_MAX_SLAVES, so autoscaling cannot change it mid-run), then
#      the limits that need its servers: rpc_floor (RabbitMQ RPC, 1 and 16
#      clients; with --relay the broker path of a read, acks one by one and
#      batched) and pg_floor (libpq, 4 connections)
#   4. loads 100 users and 10,000 upcoming rides (bench_load, 16 rs_rpc
#      clients, 1,000 (source, destination) pairs of 10 rides)
#   5. end-to-end wrk runs through the edge (bench/wrk/*.lua), each with CPU
#      ticks of every process before/after; open-loop read runs (openloop: a
#      constant arrival rate at 25/50/75 % of the wrk max, latency from the
#      intended send time)
#   6. peak RSS of every process, stack down
#   7. stacks with 2 and 4 slaves: same data, the two read scenarios; then
#      one with the autoscaler on (5-s window, its cap from the spawner)
#   8. table on stdout, JSON in bench/results/<UTC date-time>.json
# The stack is always stopped (trap). Total time about 5 minutes.
# RIDESHARE_BENCH_KEEP=1 keeps the run's intermediate files (wrk outputs,
# process snapshots) in /tmp/rs-bench-run.*; they are kept anyway on failure.
set -euo pipefail

ARGS=("$@")
ROOT=$(cd "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/.." && pwd)
BENCH=$ROOT/bench
DUR=10
CONNS=16
SCALING=1
QUICK=0
while (($#)); do
	case $1 in
	--duration) DUR=${2:?}; shift 2 ;;
	--conns) CONNS=${2:?}; shift 2 ;;
	--no-scaling) SCALING=0; shift ;;
	--quick) QUICK=1; DUR=3; shift ;;
	-h | --help) sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench: unknown argument '$1' (see --help)" >&2; exit 2 ;;
	esac
done
[[ $DUR =~ ^[0-9]+$ && $DUR -ge 1 ]] || { echo "bench: bad --duration" >&2; exit 2; }
[[ $CONNS =~ ^[0-9]+$ && $CONNS -ge 2 ]] || { echo "bench: bad --conns" >&2; exit 2; }

BASE=${RIDESHARE_BENCH_PORT_BASE:-26000}
BUILD=$(realpath -m -- "${RIDESHARE_BUILD_DIR:-$ROOT/build}")
BIN=$BUILD/bench
STACK=/tmp/rs-bench-$BASE
EDGE=http://127.0.0.1:$BASE
ADMIN=http://127.0.0.1:$((BASE + 10))
# The stack's own credentials (docs/security.md), read once it is up.
AMQP=
PGCI="host=127.0.0.1 port=$((BASE + 20)) user=postgres dbname=postgres"
FLOOR_PORT=$((BASE + 50))
WRK_THREADS=2
PY=$(command -v python3)
RUN=$(mktemp -d /tmp/rs-bench-run.XXXXXX)
T0=$SECONDS
STACK_UP=0
FLOOR_PID=

# Loaded ride pairs (bench_load --src/--dst, the wrk scripts' arguments).
SRC=1:25
DST=101:140
NUSERS=100
NRIDES=10000

RS_SAY_PREFIX=bench RS_SAY_FD=2
# shellcheck source=scripts/lib/say.sh
source "$ROOT/scripts/lib/say.sh"

# Only this run's stack: port overrides of the caller would point elsewhere.
for n in EDGE USERS RIDES ADMIN PG AMQP AMQP_DIST EPMD ZK; do
	unset "RIDESHARE_${n}_PORT"
done
unset RIDESHARE_AMQP_URL RIDESHARE_PG_CONNINFO RIDESHARE_ZK_HOSTS RIDESHARE_EDGE_URL

# The stacks run with the system's defaults (RIDESHARE_* of the caller pass
# through, e.g. RIDESHARE_HTTP_THREADS or RIDESHARE_ZK_SESSION_MS to compare
# settings). Workers the orchestrator had to replace are counted and shown:
# a healthy run has none (docs/performance.md, "ZooKeeper sessions").
stack() {
	RIDESHARE_PORT_BASE=$BASE RIDESHARE_STACK_DIR=$STACK RIDESHARE_BUILD_DIR=$BUILD \
		RIDESHARE_NO_BUILD=1 "$ROOT/rideshare" "$@"
}

# workers_spawned FILE SLAVES: how many workers the orchestrator started
# beyond the first 1 + SLAVES (replacements of workers it lost).
workers_spawned() {
	local n
	n=$(curl -s "$ADMIN/metrics" | awk '$1 == "rideshare_orch_worker_spawns_total" {print $2}')
	printf '{"slaves": %d, "spawns": %d, "replacements": %d}\n' "$2" "${n:-0}" \
		"$((${n:-0} - 1 - $2))" >"$1"
}

stack_down() {
	((STACK_UP)) || return 0
	# Keep the stack's logs with the run's files when asked to.
	if [[ ${RIDESHARE_BENCH_KEEP-} == 1 && -d $STACK/logs ]]; then
		cp -r -- "$STACK/logs" "$RUN/stack-logs-$(date +%H%M%S)" 2>/dev/null || true
	fi
	stack down --purge >>"$RUN/stack.log" 2>&1 || rs_say "warning: stack down failed (see $RUN/stack.log)"
	STACK_UP=0
}

# stack_up N [auto]: a fresh stack with exactly N slaves, serving. auto:
# the autoscaler left on (no RIDESHARE_MIN/MAX_SLAVES; window
# RIDESHARE_BENCH_SCALE_WINDOW_S, default 5 s), N = the slaves it starts with.
stack_up() {
	local n=$1 deadline
	if [[ -d $STACK ]]; then
		rs_say "clearing a stack left in $STACK"
		STACK_UP=1
		stack_down
	fi
	rs_say "stack up ($n slave(s)) on port base $BASE"
	STACK_UP=1
	if [[ ${2-} == auto ]]; then
		(
			unset RIDESHARE_MIN_SLAVES RIDESHARE_MAX_SLAVES
			RIDESHARE_SCALE_WINDOW_S=${RIDESHARE_BENCH_SCALE_WINDOW_S:-5} stack up --detach
		) >>"$RUN/stack.log" 2>&1
	else
		RIDESHARE_MIN_SLAVES=$n RIDESHARE_MAX_SLAVES=$n stack up --detach >>"$RUN/stack.log" 2>&1
	fi || { tail -30 "$RUN/stack.log" >&2; rs_die "stack did not start"; }
	AMQP=$(<"$STACK/secrets/amqp_url")
	export PGPASSFILE=$STACK/secrets/pgpass
	deadline=$((SECONDS + 60))
	until [[ $("$PY" "$BENCH/bench.py" slaves "$ADMIN") == "$n" ]]; do
		((SECONDS < deadline)) || rs_die "$n slave(s) not serving after 60 s"
		sleep 0.2
	done
}

cleanup() {
	local rc=$?
	trap - EXIT
	trap '' INT TERM
	if [[ -n $FLOOR_PID ]]; then
		kill "$FLOOR_PID" 2>/dev/null || true
		wait "$FLOOR_PID" 2>/dev/null || true
	fi
	stack_down
	if ((rc == 0)) && [[ ${RIDESHARE_BENCH_KEEP-} != 1 ]]; then
		rm -rf -- "$RUN"
	else
		((rc == 0)) || rs_say "failed"
		rs_say "intermediate files kept in $RUN"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ------------------------------------------------------------------ build
if [[ ${RIDESHARE_NO_BUILD-} != 1 ]]; then
	[[ ${RIDESHARE_NO_DEPS-} == 1 ]] || "$ROOT/rideshare" deps >/dev/null
	rs_say "building into $BUILD"
	[[ -f $BUILD/CMakeCache.txt ]] || cmake -S "$ROOT" -B "$BUILD" >"$RUN/build.log" 2>&1 ||
		{ tail -30 "$RUN/build.log" >&2; rs_die "cmake configure failed"; }
	cmake --build "$BUILD" -j"$(nproc)" --target rideshare-orchestrator rideshare-worker \
		rideshare-users rideshare-rides civet_floor rpc_floor pg_floor bench_load openloop \
		>>"$RUN/build.log" 2>&1 || { tail -30 "$RUN/build.log" >&2; rs_die "build failed"; }
fi
for b in civet_floor rpc_floor pg_floor bench_load openloop; do
	[[ -x $BIN/$b ]] || rs_die "$BIN/$b is missing (build the bench targets)"
done
command -v wrk >/dev/null || rs_die "wrk is not installed (./rideshare deps)"
# The client's own CPU (it shares the cores), when GNU time is there.
TIMECMD=()
[[ -x /usr/bin/time ]] && TIMECMD=(/usr/bin/time -f '%U %S' -o)

# ------------------------------------------------------------------ meta
json_str() { "$PY" -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$1"; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
SCEN=$RUN/scenarios.jsonl
: >"$SCEN"

# ------------------------------------------------------------------ helpers

# snap FILE: CPU ticks and memory of every process of the stack.
snap() { "$PY" "$BENCH/bench.py" snap "$STACK" "$ADMIN" >"$1"; }

# wrk_run OUT CONNS DURATION SCRIPT URL [ARGS...]
wrk_run() {
	local out=$1 c=$2 d=$3 script=$4 url=$5
	shift 5
	"${TIMECMD[@]}" ${TIMECMD:+"$out.time"} \
		wrk -t"$WRK_THREADS" -c"$c" -d"${d}s" --latency -s "$BENCH/wrk/$script" "$url" -- "$@" \
		>"$out" 2>&1 || { cat "$out" >&2; rs_die "wrk failed"; }
	grep -q '^BENCH_JSON ' "$out" || { cat "$out" >&2; rs_die "wrk printed no result"; }
}

# scenario NAME LABEL CONNS SCRIPT [ARGS...]: a timed end-to-end run with
# CPU snapshots around it.
scenario() {
	local name=$1 label=$2 c=$3 script=$4
	shift 4
	snap "$RUN/e2e_$name.before.json"
	wrk_run "$RUN/e2e_$name.wrk" "$c" "$DUR" "$script" "$EDGE/" "$@"
	snap "$RUN/e2e_$name.after.json"
	printf '{"name": %s, "label": %s, "conns": %d, "seconds": %d, "delay_ms": %s}\n' \
		"$(json_str "$name")" "$(json_str "$label")" "$c" "$DUR" "${BENCH_DELAY_MS:-0}" >>"$SCEN"
	rs_say "$(printf '%-26s %s' "$label" "$("$PY" -c 'import json,sys; d=json.loads(sys.argv[1]); print("%.0f req/s  p50 %.2f ms  p99 %.2f ms  non2xx %d" % (d["req_per_s"], d["p50_ms"], d["p99_ms"], d["non2xx"]))' "$("$PY" "$BENCH/bench.py" wrkjson "$RUN/e2e_$name.wrk")")")"
}

# expect CODE METHOD PATH [BODY]: one request through the edge, before a
# scenario, so a broken route fails loudly instead of as a fast 4xx run.
expect() {
	local want=$1 method=$2 path=$3 body=${4-} got
	got=$(curl -s -o /dev/null -w '%{http_code}' -X "$method" -H 'Content-Type: application/json' \
		${body:+--data "$body"} "$EDGE$path")
	[[ $got == "$want" ]] || rs_die "$method $path answered $got, expected $want"
}

# open_loop NAME ARGS...: openloop at 25, 50 and 75 % of the max req/s wrk
# measured for NAME (closed loop, same run), DUR s each after 1 s of
# warm-up, with CPU snapshots around each; ARGS select the requests
# (--rides-list or --ride-get).
open_loop() {
	local name=$1 max pct rate out
	shift
	max=$("$PY" -c 'import json,sys; print(int(json.loads(sys.argv[1])["req_per_s"]))' \
		"$("$PY" "$BENCH/bench.py" wrkjson "$RUN/e2e_$name.wrk")")
	for pct in 25 50 75; do
		rate=$((max * pct / 100))
		((rate >= 1)) || rate=1
		out=$RUN/ol_${name}_$pct
		snap "$out.before.json"
		"${TIMECMD[@]}" ${TIMECMD:+"$out.time"} \
			"$BIN/openloop" --port "$BASE" --rate "$rate" --seconds "$((DUR + 1))" --warmup 1 \
			--conns "$((CONNS * 2))" "$@" >"$out.json" || { cat "$out.json" >&2; rs_die "openloop failed"; }
		snap "$out.after.json"
		printf '{"name": %s, "pct_of_max": %d, "max_req_per_s": %d}\n' \
			"$(json_str "$name")" "$pct" "$max" >>"$RUN/openloop.jsonl"
		rs_say "$(printf '%-14s %3d%% of %s/s: ' "$name" "$pct" "$max")$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%.0f req/s  p50 %.2f  p99 %.2f  p99.9 %.2f ms  non2xx %d  errors %d" % (d["achieved_rate"], d["p50_ms"], d["p99_ms"], d["p999_ms"], d["non2xx"], d["errors"]))' "$out.json")"
	done
}

load_data() {
	"$BIN/bench_load" --url "$AMQP" --clients 16 --users "$NUSERS" --rides "$NRIDES" \
		--prefix bench_u --src "$SRC" --dst "$DST" >"$1" 2>"$1.err" ||
		{ cat "$1.err" >&2; rs_die "loading the data failed"; }
}

# ------------------------------------------------------------------ floors
# The CivetWeb floors run before any stack exists: ~100k loopback req/s on 2
# cores stalls the ZooKeeper server for seconds (sessions expire), and the
# parts are measured alone anyway.
rs_say "limits of the parts: CivetWeb"
FL_DUR=$DUR
((QUICK)) && FL_DUR=2
for mode in rs_http raw; do
	args=(--port "$FLOOR_PORT" --threads 16)
	[[ $mode == raw ]] && args+=(--raw)
	"$BIN/civet_floor" "${args[@]}" >"$RUN/civet_$mode.out" 2>"$RUN/civet_$mode.log" &
	FLOOR_PID=$!
	for _ in $(seq 100); do
		grep -q listening "$RUN/civet_$mode.out" 2>/dev/null && break
		sleep 0.05
	done
	wrk_run "$RUN/floor_civet_$mode.wrk" "$CONNS" "$FL_DUR" floor.lua "http://127.0.0.1:$FLOOR_PORT/floor"
	kill "$FLOOR_PID"
	wait "$FLOOR_PID" || true
	FLOOR_PID=
done

# ------------------------------------------------------------------ stack 1
stack_up 1
rs_say "limits of the parts: RabbitMQ, PostgreSQL"

# rpc_floor NAME ARGS...: with the broker's CPU before/after.
rpc_floor() {
	local name=$1
	shift
	snap "$RUN/floor_$name.before.json"
	"$BIN/rpc_floor" --url "$AMQP" "$@" >"$RUN/floor_$name.json"
	snap "$RUN/floor_$name.after.json"
}
rpc_floor rpc_1 --clients 1 --seconds "$((FL_DUR > 5 ? 5 : FL_DUR))"
rpc_floor rpc_16 --clients 16 --seconds "$FL_DUR"
rpc_floor relay_16 --clients 16 --seconds "$FL_DUR" --relay
rpc_floor relay_16_batch --clients 16 --seconds "$FL_DUR" --relay --ack batch
"$BIN/pg_floor" --conninfo "$PGCI" --clients 4 --seconds "$((FL_DUR > 5 ? 5 : FL_DUR))" >"$RUN/floor_pg.json"
# Whether acknowledged writes were durable in this run (the write target is
# for fsync and synchronous_commit on; RIDESHARE_THROWAWAY=1 turns them off).
PGSET=$(psql "$PGCI" -XAtc "SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit')" 2>/dev/null || echo "? ?")
printf '{"fsync": %s, "synchronous_commit": %s}\n' "$(json_str "${PGSET% *}")" "$(json_str "${PGSET#* }")" >"$RUN/pg_settings.json"

rs_say "loading $NUSERS users and $NRIDES rides"
load_data "$RUN/load.json"
IDS=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%d:%d" % (d["first_ride_id"], d["last_ride_id"]))' "$RUN/load.json")

rs_say "end to end through the edge ($CONNS connections, ${DUR} s each)"
expect 200 GET "/api/v1/rides?source=1&destination=101"
scenario rides_list "GET /rides?source&destination" "$CONNS" rides_list.lua "$SRC" "$DST"
expect 200 GET "/api/v1/rides/${IDS%%:*}"
scenario ride_get "GET /rides/{id}" "$CONNS" ride_get.lua "$IDS"
expect 200 GET /api/v1/users
scenario users_list "GET /users ($NUSERS users)" "$CONNS" users_list.lua
rs_say "open loop: reads at 25/50/75 % of the max above"
: >"$RUN/openloop.jsonl"
open_loop rides_list --rides-list "$SRC,$DST"
open_loop ride_get --ride-get "$IDS"
RUNID=r$(date +%s)
expect 201 PUT /api/v1/users "{\"username\": \"${RUNID}_probe\", \"password\": \"3d725109c7e7c0bfb9d709836735b56d943d263f\"}"
scenario users_put "PUT /users (unique names)" "$CONNS" users_put.lua "${RUNID}_put"
expect 201 POST /api/v1/rides '{"created_by": "bench_u1", "timestamp": "01-01-2031:00-00-10", "source": 150, "destination": 170}'
scenario rides_post "POST /rides" "$CONNS" rides_post.lua bench_u "$NUSERS"
scenario mix "90/10 read/write mix" "$CONNS" mix.lua "$IDS" "$SRC" "$DST" "${RUNID}_mix"
snap "$RUN/mem.json"
workers_spawned "$RUN/workers_1.json" 1
stack_down

# ------------------------------------------------------------------ scaling
if ((SCALING)); then
	for n in 2 4; do
		stack_up "$n"
		rs_say "scaling: $n slaves, loading"
		load_data "$RUN/scale${n}_load.json"
		IDS=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%d:%d" % (d["first_ride_id"], d["last_ride_id"]))' "$RUN/scale${n}_load.json")
		wrk_run "$RUN/scale${n}_rides_list.wrk" "$CONNS" "$DUR" rides_list.lua "$EDGE/" "$SRC" "$DST"
		wrk_run "$RUN/scale${n}_ride_get.wrk" "$CONNS" "$DUR" ride_get.lua "$EDGE/" "$IDS"
		snap "$RUN/scale${n}_mem.json"
		workers_spawned "$RUN/workers_$n.json" "$n"
		stack_down
	done
	# Unpinned (issue 17 item 5): the autoscaler on, as users run it, with a
	# short window so that it decides within the run; it stops at its cap
	# (the spawner's capacity, docs/autoscaling.md). One window of reads
	# first sizes the tier; then the two read scenarios.
	stack_up 1 auto
	rs_say "scaling: autoscaler on (window ${RIDESHARE_BENCH_SCALE_WINDOW_S:-5} s), loading"
	load_data "$RUN/scaleauto_load.json"
	IDS=$("$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); print("%d:%d" % (d["first_ride_id"], d["last_ride_id"]))' "$RUN/scaleauto_load.json")
	wrk_run "$RUN/scaleauto_warm.wrk" "$CONNS" "$((${RIDESHARE_BENCH_SCALE_WINDOW_S:-5} + 3))" rides_list.lua "$EDGE/" "$SRC" "$DST"
	wrk_run "$RUN/scaleauto_rides_list.wrk" "$CONNS" "$DUR" rides_list.lua "$EDGE/" "$SRC" "$DST"
	wrk_run "$RUN/scaleauto_ride_get.wrk" "$CONNS" "$DUR" ride_get.lua "$EDGE/" "$IDS"
	curl -s "$ADMIN/metrics" | awk -v slaves="$("$PY" "$BENCH/bench.py" slaves "$ADMIN")" '
		$1 == "rideshare_orch_wanted_slaves" { w = $2 }
		$1 == "rideshare_orch_slave_cap" { c = $2 }
		END { printf "{\"slaves\": %d, \"wanted\": %d, \"cap\": %d}\n", slaves, w, c }' \
		>"$RUN/scaleauto_state.json"
	rs_say "scaling: autoscaler on: $(<"$RUN/scaleauto_state.json")"
	stack_down
fi

# ------------------------------------------------------------------ report
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
"$PY" - "$RUN" "${ARGS[@]}" <<EOF
import datetime, json, os, platform, subprocess, sys
run = sys.argv[1]
cpu = "?"
for line in open("/proc/cpuinfo"):
    if line.startswith("model name"):
        cpu = line.split(":", 1)[1].strip()
        break
mem_kb = 0
for line in open("/proc/meminfo"):
    if line.startswith("MemTotal:"):
        mem_kb = int(line.split()[1])
def git(*a):
    try:
        return subprocess.run(["git", "-C", "$ROOT", *a], capture_output=True,
                              text=True).stdout.strip()
    except OSError:
        return ""
scen = [json.loads(l) for l in open(os.path.join(run, "scenarios.jsonl")) if l.strip()]
meta = {
    "date_utc": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
    "commit": git("rev-parse", "--short", "HEAD") + ("+dirty" if git("status", "--porcelain", "--untracked-files=no") else ""),
    # The services may be older than HEAD (RIDESHARE_NO_BUILD=1): when built.
    "binaries_built_utc": datetime.datetime.fromtimestamp(
        os.path.getmtime("$BUILD/bin/rideshare-rides"),
        datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    "machine": {"nproc": os.cpu_count(), "cpu": cpu, "mem_gb": round(mem_kb / 1048576, 1),
                "kernel": platform.release()},
    "loadavg_start": "$LOAD_START", "loadavg_end": "$LOAD_END",
    "duration_s": $DUR, "conns": $CONNS, "wrk_threads": $WRK_THREADS,
    "http_threads": int("${RIDESHARE_HTTP_THREADS:-16}"), "log_level": "${RIDESHARE_LOG_LEVEL:-info}",
    "zk_session_ms": int("${RIDESHARE_ZK_SESSION_MS:-800}"),
    "data": {"users": $NUSERS, "rides": $NRIDES, "src": "$SRC", "dst": "$DST"},
    "command": "./rideshare bench" + " ".join([""] + sys.argv[2:]),
    "elapsed_s": $((SECONDS - T0)),
    "scenarios": scen,
}
json.dump(meta, open(os.path.join(run, "meta.json"), "w"), indent=1)
EOF
mkdir -p "$BENCH/results"
OUT=$BENCH/results/$(date -u +%Y-%m-%dT%H%M%SZ).json
echo
"$PY" "$BENCH/bench.py" report "$RUN" "$OUT"
echo
rs_say "load average: start $LOAD_START, end $LOAD_END; $((SECONDS - T0)) s in total"
rs_say "results: $OUT"
