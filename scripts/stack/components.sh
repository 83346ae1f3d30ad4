# shellcheck shell=bash
# What `up`, `down` and `status` share about the stack's components: their
# order, ports, logs, pids, stop plans, and the readiness wait.

# Start order; `down` goes the other way round.
# shellcheck disable=SC2034 # read by up.sh and down.sh
RS_SERVICES=(orchestrator users rides)
RS_COMPONENTS=(postgres epmd rabbitmq zookeeper orchestrator users rides nginx)

declare -A RS_COMPONENT_PORTVAR=(
	[postgres]=PG [epmd]=EPMD [rabbitmq]=AMQP [zookeeper]=ZK
	[orchestrator]=ADMIN [users]=USERS [rides]=RIDES [nginx]=EDGE
)

# Signals and how long (ms) to wait after each, per component.
# shellcheck disable=SC2034 # read by down.sh
declare -A RS_STOP_PLAN=(
	[nginx]="TERM:5000 KILL:2000"
	[users]="TERM:5000 KILL:2000"
	[rides]="TERM:5000 KILL:2000"
	[orchestrator]="TERM:@ORCH_STOP_MS@ KILL:2000"
	[workers]="TERM:5000 KILL:2000"
	[zookeeper]="TERM:5000 KILL:2000"
	[rabbitmq]="TERM:10000 KILL:2000"
	[postgres]="INT:5000 QUIT:3000 KILL:2000"
	[epmd]="TERM:2000 KILL:2000"
)

rs_component_port() {
	local v=RS_${RS_COMPONENT_PORTVAR[$1]}_PORT
	printf '%s' "${!v}"
}

rs_component_logs() {
	local l=$RS_LOG_DIR
	case $1 in
	postgres) echo "$l/initdb.log $l/postgres.log" ;;
	epmd) echo "$l/epmd.log" ;;
	rabbitmq) echo "$l/rabbitmq-server.out $l/rabbitmq.log $l/rabbitmq-wait.log" ;;
	zookeeper) echo "$l/zookeeper.out $l/zookeeper.log" ;;
	nginx) echo "$l/nginx.out $l/nginx-error.log" ;;
	*) echo "$l/$1.log" ;;
	esac
}

# Every pid that belongs to NAME (some components have more than one).
rs_component_pids() {
	local pid
	case $1 in
	postgres) rs_postgres_pids ;;
	rabbitmq) rs_rabbitmq_pids ;;
	*) pid=$(rs_pidfile_read "$1") && printf '%s\n' "$pid" ;;
	esac
	return 0
}

# Prints the pids of live processes of this stack: those carrying the stack's
# marker in their environment (every process we start, and what they start:
# workers, Erlang helpers) and PostgreSQL's backends (they overwrite their
# environment with their process title, which names the cluster after the
# stack id). Never this shell or its ancestors.
rs_stack_member_pids() {
	local -A skip=()
	local p
	while read -r p; do skip[$p]=1; done < <(rs_self_and_ancestors)
	{
		grep -lzxF -- "RIDESHARE_STACK_MEMBER=$RS_STACK_DIR" /proc/[0-9]*/environ 2>/dev/null || true
		grep -lz -- "^postgres: rideshare-$RS_STACK_ID: " /proc/[0-9]*/cmdline 2>/dev/null || true
	} | while IFS=/ read -r _ _ p _; do
		[[ -z ${skip[$p]-} ]] && rs_alive "$p" && printf '%s\n' "$p"
	done | sort -un
	return 0
}

# Fails (with the reason on stderr) when processes of this stack are alive.
rs_stack_check_not_running() {
	local c pid live=()
	for c in "${RS_COMPONENTS[@]}"; do
		pid=$(rs_component_pid "$c") && live+=("$c=$pid")
	done
	if ((${#live[@]} == 0)); then
		mapfile -t live < <(rs_stack_member_pids)
	fi
	((${#live[@]} == 0)) && return 0
	rs_err "a stack is already running in $RS_STACK_DIR (${live[*]})"
	rs_err "stop it first: RIDESHARE_STACK_DIR=$RS_STACK_DIR ./rideshare down" \
		"(or choose another RIDESHARE_STACK_DIR and RIDESHARE_PORT_BASE)"
	return 1
}

# Every port of the stack must be free; names port and variable otherwise.
rs_ports_check_free() {
	local -A busy=()
	local p name var bad=0
	while read -r p; do busy[$p]=1; done < <(rs_listening_ports)
	for name in "${RS_PORT_NAMES[@]}"; do
		var=RS_${name}_PORT
		p=${!var}
		if [[ -n ${busy[$p]-} ]]; then
			rs_err "port $p (RIDESHARE_${name}_PORT) is already in use:"
			rs_port_owner "$p" | sed 's/^/    /' >&2
			bad=1
		fi
	done
	((bad == 0)) || rs_die "choose free ports, e.g. another RIDESHARE_PORT_BASE (now ${RIDESHARE_PORT_BASE:-8080})"
}

# rs_wait_ready NAME TIMEOUT_S PROBE...: polls PROBE every 0.1 s until it
# succeeds; fails early when NAME's process is gone or PROBE returns 2, and at
# the deadline. On failure prints the reason and NAME's log tail.
rs_wait_ready() {
	local name=$1 timeout_s=$2 rc deadline pid
	shift 2
	deadline=$(($(rs_now_ms) + timeout_s * 1000))
	while :; do
		rc=0
		"$@" || rc=$?
		((rc == 0)) && return 0
		if ((rc == 2)); then
			rs_err "$name failed to start"
			break
		fi
		pid=$(rs_pidfile_read "$name" || true)
		if [[ $name == rabbitmq ]]; then pid=$(rs_pidfile_read rabbitmq-server || true); fi
		if ! rs_alive "$pid"; then
			rs_err "$name exited during start-up"
			break
		fi
		if (($(rs_now_ms) >= deadline)); then
			rs_err "$name not ready after ${timeout_s} s"
			break
		fi
		sleep 0.1
	done
	# shellcheck disable=SC2046
	rs_log_tail $(rs_component_logs "$name")
	return 1
}
