#!/usr/bin/env bash
# System test of the local stack's supervisor (scripts/stack/supervisor.sh),
# run by ctest under tests/with-stack.sh BASE -- (a stack of its own):
#   1. kill -9 each server and service in turn (users, rides, nginx master,
#      PostgreSQL postmaster, epmd, RabbitMQ beam, ZooKeeper java, and the
#      orchestrator last); each must be running again under a new pid and
#      answer its health probe within a bound; `status` counts the restart
#      and logs/supervisor.log has its line. The orchestrator's workers are
#      never signalled by this test, and must be untouched by the restarts
#      of users, rides and nginx.
#   2. a crash loop: users killed as soon as it is back, 5 times; the delays
#      must grow (back-off, no tight loop) and `status` must flag it.
# Prints the time from each kill to the component answering again.
set -euo pipefail
# shellcheck source=tests/system/stack_test.sh
source "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/stack_test.sh"

http_ok() { [[ $(rs_http_code "http://127.0.0.1:$1$2" 1) == 200 ]]; }

# One health probe per component.
probe() {
	case $1 in
	postgres) "$RS_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$RIDESHARE_PG_PORT" -U postgres -d postgres -t 1 ;;
	epmd) epmd -port "$RIDESHARE_EPMD_PORT" -names >/dev/null 2>&1 ;;
	rabbitmq) rs_amqp_ping "$RIDESHARE_AMQP_PORT" ;;
	zookeeper) rs_zk_ruok "$RIDESHARE_ZK_PORT" ;;
	orchestrator) http_ok "$RIDESHARE_ADMIN_PORT" /healthz ;;
	users) http_ok "$RIDESHARE_USERS_PORT" /healthz ;;
	rides) http_ok "$RIDESHARE_RIDES_PORT" /healthz ;;
	nginx) [[ $(rs_http_code "http://127.0.0.1:$RIDESHARE_EDGE_PORT/healthz" 1) != 000 ]] ;;
	esac
}

# Command name the recorded pid must have once the component is back.
declare -A COMM=(
	[postgres]=postgres [epmd]=epmd [rabbitmq]=beam.smp [zookeeper]=java
	[orchestrator]=rideshare-orche [users]=rideshare-users [rides]=rideshare-rides [nginx]=nginx
)

# Worker processes of this stack (they inherit the stack marker).
worker_pids() {
	local f p
	for f in /proc/[0-9]*/comm; do
		p=${f#/proc/}
		p=${p%/comm}
		[[ $(cat "$f" 2>/dev/null) == rideshare-worke* ]] || continue
		grep -qzxF "RIDESHARE_STACK_MEMBER=$S" "/proc/$p/environ" 2>/dev/null || continue
		rs_alive "$p" && echo "$p"
	done | sort -n
	return 0
}

pid_of() { rs_first_line "$S/pids/$1.pid" || echo 0; }

# back NAME OLD_PID: true once NAME runs under another pid and answers.
back() {
	local pid
	pid=$(pid_of "$1")
	[[ $pid != "$2" ]] && rs_alive "$pid" && [[ $(rs_comm "$pid") == "${COMM[$1]}" ]] && probe "$1"
}

status_restarts() {
	"$RIDESHARE" status 2>/dev/null | awk -v c="$1" '$1 == c { print $5 }' || true
}

# kill_and_wait NAME BOUND_S: prints the recovery time; fails past the bound.
kill_and_wait() {
	local name=$1 bound=$2 old t0 dt before after
	old=$(pid_of "$name")
	if ! rs_alive "$old" || ! probe "$name"; then
		fail "$name is not up before the kill (pid $old)"
		return
	fi
	before=$(status_restarts "$name")
	t0=$(rs_now_ms)
	kill -KILL "$old"
	until back "$name" "$old"; do
		if (($(rs_now_ms) - t0 > bound * 1000)); then
			fail "$name not back $bound s after kill -9 (old pid $old, now $(pid_of "$name"))"
			tail -5 "$S/logs/supervisor.log" || true
			return
		fi
		sleep 0.05
	done
	dt=$(($(rs_now_ms) - t0))
	printf '%-13s killed pid %-7s back as pid %-7s in %s\n' "$name" "$old" "$(pid_of "$name")" "$(rs_fmt_ms "$dt")"
	after=$(status_restarts "$name")
	if ! [[ $after =~ ^[0-9]+$ ]] || ((after != ${before:-0} + 1)); then
		fail "status shows RESTARTS '$after' for $name (before: '$before')"
	fi
	# (beam is not the supervisor's child: its line names the wrapper's exit)
	local want="restart $name: pid $old killed by SIGKILL"
	[[ $name == rabbitmq ]] && want="restart $name: pid $old beam.smp"
	grep -q "$want" "$S/logs/supervisor.log" || fail "no '$want' line in supervisor.log"
}

echo "== kill -9 of each component, one at a time"
# Bounds: detection 0.5 s + first back-off 0.5 s + start; RabbitMQ boots an
# Erlang VM (4-15 s on a loaded 2-core box), ZooKeeper a JVM.
# The gateways and the edge first: the workers must be the very same processes
# afterwards (the supervisor never touches them; server kills may make the
# product replace workers, so they come after this check).
workers_before=$(worker_pids)
kill_and_wait users 15
kill_and_wait rides 15
kill_and_wait nginx 10
workers_after=$(worker_pids)
echo "workers before: ${workers_before//$'\n'/ }; after: ${workers_after//$'\n'/ }"
[[ -n $workers_before ]] || fail "no worker processes found"
[[ $workers_before == "$workers_after" ]] || fail "workers changed while users, rides and nginx were restarted"
kill_and_wait postgres 20
kill_and_wait epmd 10
kill_and_wait rabbitmq 60
kill_and_wait zookeeper 30
kill_and_wait orchestrator 20

echo "== crash loop: users killed again as soon as it is back, 5 times"
t_loop=$(rs_now_ms)
for i in 1 2 3 4 5; do
	old=$(pid_of users)
	kill -KILL "$old"
	t0=$(rs_now_ms)
	if ((i == 5)); then
		# 5 restarts within 5 min by now, the next one 8-16 s away: while it
		# waits, status says so.
		line=
		until [[ $line == *"next try in"* ]] || (($(rs_now_ms) - t0 > 3000)); do
			line=$("$RIDESHARE" status 2>/dev/null | grep '^users ' || true)
		done
		echo "while down: $line"
		[[ $line == *"DOWN"*"crash-looping: "*" restarts in 5 min, next try in "* ]] ||
			fail "status of a crash-looping users while it waits: '$line'"
	fi
	until back users "$old"; do
		if (($(rs_now_ms) - t0 > 60000)); then
			fail "users not back after crash $i"
			break 2
		fi
		sleep 0.05
	done
	printf 'crash %d: back in %s\n' "$i" "$(rs_fmt_ms $(($(rs_now_ms) - t0)))"
done
# Delays 0.5, 1, 2, 4, 8 s (after the first restart above): the loop must
# have taken at least their sum, i.e. the supervisor did not retry at once.
took=$(($(rs_now_ms) - t_loop))
echo "5 crashes took $(rs_fmt_ms "$took")"
((took >= 1000 + 2000 + 4000 + 8000)) || fail "5 restarts in $(rs_fmt_ms "$took"): back-off not applied"
grep 'restart users:' "$S/logs/supervisor.log" | sed 's/^/  /'
st=$("$RIDESHARE" status 2>&1 || true)
echo "$st"
grep -q '^users .*crash-looping: [0-9]* restarts in 5 min' <<<"$st" || fail "status does not flag users as crash-looping"
grep -q 'warning: users is crash-looping' "$S/logs/supervisor.log" || fail "no crash-loop warning in supervisor.log"

if ((fails)); then
	echo "stack_supervisor: $fails failure(s)"
	exit 1
fi
echo "stack_supervisor: ok"
