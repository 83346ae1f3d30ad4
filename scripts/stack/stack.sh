# shellcheck shell=bash
# `./rideshare up | down | status`: the local stack as a whole.

# Start order; `down` goes the other way round.
RS_SERVICES=(orchestrator users rides)
RS_COMPONENTS=(postgres epmd rabbitmq zookeeper orchestrator users rides nginx)

declare -A RS_COMPONENT_PORTVAR=(
	[postgres]=PG [epmd]=EPMD [rabbitmq]=AMQP [zookeeper]=ZK
	[orchestrator]=ADMIN [users]=USERS [rides]=RIDES [nginx]=EDGE
)

# Signals and how long (ms) to wait after each, per component.
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

# ---------------------------------------------------------------- up

rs_up_usage() {
	cat <<EOF
usage: ./rideshare up [--detach]
  Installs missing packages (as root), builds, starts PostgreSQL, RabbitMQ,
  ZooKeeper, the services that are built, and nginx; all state in
  \$RIDESHARE_STACK_DIR (default ./.stack). Without --detach it stays in the
  foreground and stops everything on Ctrl-C. Either way this process stays as
  the supervisor: it restarts a component that dies (back-off 0.5 s to 30 s).
  The data (PostgreSQL, RabbitMQ, ZooKeeper) of an earlier run is kept;
  only 'down --purge' deletes it.
EOF
}

cmd_up() {
	local detach=0 supervisor='' arg
	while (($#)); do
		arg=$1
		shift
		case $arg in
		-d | --detach) detach=1 ;;
		# internal: the detached copy of `up`, see rs_up_detached
		--supervisor)
			supervisor=${1:?}
			shift
			;;
		-h | --help) rs_up_usage; return 0 ;;
		*) rs_up_usage >&2; rs_die "up: unknown argument '$arg'" ;;
		esac
	done

	rs_config_load
	if [[ -z $supervisor ]]; then
		[[ ${RIDESHARE_NO_DEPS-} == 1 ]] || cmd_deps --quiet
		[[ ${RIDESHARE_NO_BUILD-} == 1 ]] || cmd_build
	fi
	if ((detach)); then
		rs_up_detached
	else
		rs_up_run "$supervisor"
	fi
}

# `up --detach`: the stack is started by a copy of `up` in a session of its
# own, which stays behind as the parent of the servers. PID 1 on this kind of
# machine does not reap orphans; this copy does, so stopped servers do not
# linger as zombies. Its output comes here until the stack is ready, then goes
# to logs/supervisor.log; it leaves once every component has stopped.
rs_up_detached() {
	mkdir -p -- "$RS_STACK_DIR"
	local status=$RS_STACK_DIR/.up-status child rc
	rm -f -- "$status"
	setsid "$RS_ROOT/rideshare" up --supervisor "$status" 9>&- &
	child=$!
	trap 'kill -TERM "$child" 2>/dev/null || true' INT TERM
	while [[ ! -s $status ]]; do
		if ! rs_alive "$child"; then
			rc=0
			wait "$child" || rc=$?
			((rc != 0)) || rc=1
			exit "$rc"
		fi
		sleep 0.05
	done
	trap - INT TERM
	rm -f -- "$status"
	rs_say "detached; stop with: ./rideshare down$(rs_stack_dir_hint)"
}

# Starts everything and stays: in the foreground (SUPERVISOR empty) until
# Ctrl-C, or as the detached supervisor, which reports readiness by writing
# the file SUPERVISOR.
rs_up_run() {
	local supervisor=$1
	mkdir -p -- "$RS_STACK_DIR" "$RS_PID_DIR" "$RS_LOG_DIR"
	rs_lock 0 || rs_die "another ./rideshare up or down is working on $RS_STACK_DIR right now"
	rs_stack_check_not_running || exit 1
	rs_ports_check_free
	rm -f -- "$RS_PID_DIR"/*.pid "$RS_STACK_DIR/.stopping"
	rm -rf -- "$(rs_restart_dir)"
	printf '%s\n' "$$" >"$RS_PID_DIR/supervisor.pid"

	RS_TEARDOWN_ON_EXIT=1
	trap rs_up_on_exit EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM

	local t0 t_servers
	t0=$(rs_now_ms)
	RS_STARTED_AT=$(date -Iseconds)
	rs_secrets_prepare
	rs_postgres_prepare
	rs_rabbitmq_prepare
	rs_zookeeper_prepare
	rs_nginx_prepare
	rs_stack_env_write

	rs_start_servers
	t_servers=$(($(rs_now_ms) - t0))
	rs_say "servers ready in $(rs_fmt_ms "$t_servers") (postgres :$RS_PG_PORT, rabbitmq :$RS_AMQP_PORT, zookeeper :$RS_ZK_PORT)"
	if ((RS_THROWAWAY)); then
		rs_warn "RIDESHARE_THROWAWAY=1: PostgreSQL without fsync, ZooKeeper without forceSync; a crash loses acknowledged writes"
	fi

	rs_start_services
	rs_nginx_start
	rs_wait_ready nginx 10 rs_nginx_ready || exit 1

	local total=$(($(rs_now_ms) - t0))
	rs_say "stack up in $(rs_fmt_ms "$total") (stack dir $RS_STACK_DIR)"
	rs_say "edge: http://127.0.0.1:$RS_EDGE_PORT"
	rs_unlock

	if [[ -n $supervisor ]]; then
		exec </dev/null >>"$RS_LOG_DIR/supervisor.log" 2>&1
		printf 'ready %s\n' "$total" >"$supervisor"
	else
		rs_say "running in the foreground: Ctrl-C stops everything"
	fi
	rs_supervise
}

# " (with RIDESHARE_STACK_DIR=...)" when the stack dir is not the default.
rs_stack_dir_hint() {
	[[ $RS_STACK_DIR == "$RS_ROOT/.stack" ]] || printf '   (with RIDESHARE_STACK_DIR=%s)' "$RS_STACK_DIR"
}

# PostgreSQL, RabbitMQ (after its epmd) and ZooKeeper start together; then
# each one's real readiness is awaited (they are ready in parallel, so waiting
# in turn costs nothing).
rs_start_servers() {
	local timeout=$RS_SERVER_TIMEOUT_S
	rs_epmd_start
	rs_postgres_start
	rs_zookeeper_start
	rs_wait_ready epmd 10 rs_epmd_ready || exit 1
	rs_rabbitmq_start
	rs_rabbitmq_wait_begin "$timeout"
	rs_wait_ready postgres "$timeout" rs_postgres_ready || exit 1
	rs_wait_ready zookeeper "$timeout" rs_zookeeper_ready || exit 1
	rs_wait_ready rabbitmq "$((timeout + 5))" rs_rabbitmq_ready || exit 1
}

# The orchestrator first (it needs the servers and elects a master among the
# workers it spawns), then users and rides together.
rs_start_services() {
	local timeout=$RS_SERVICE_TIMEOUT_S s t0
	local started=()
	for s in "${RS_SERVICES[@]}"; do
		if ! rs_service_built "$s"; then
			rs_say "$s: $(rs_service_bin "$s") not built, not started"
			continue
		fi
		if [[ $s == orchestrator ]]; then
			t0=$(rs_now_ms)
			rs_service_start orchestrator
			rs_wait_ready orchestrator "$timeout" rs_service_ready orchestrator || exit 1
			rs_say "orchestrator ready in $(rs_fmt_ms $(($(rs_now_ms) - t0))) (admin :$RS_ADMIN_PORT)"
		else
			rs_service_start "$s"
			started+=("$s")
		fi
	done
	for s in "${started[@]}"; do
		rs_wait_ready "$s" "$timeout" rs_service_ready "$s" || exit 1
		rs_say "$s ready (:$(rs_service_port "$s"))"
	done
}

# EXIT trap of `up`: tears down whatever was started unless the stack was
# handed over (--detach succeeded).
rs_up_on_exit() {
	local rc=$?
	trap '' INT TERM
	trap - EXIT
	if ((${RS_TEARDOWN_ON_EXIT:-0})); then
		echo
		if ((rc != 0 && rc != 130 && rc != 143)); then
			rs_err "start-up failed; logs are in $RS_LOG_DIR"
		fi
		rs_say "stopping the stack"
		local t0
		t0=$(rs_now_ms)
		if rs_stack_stop; then
			rs_say "stopped in $(rs_fmt_ms $(($(rs_now_ms) - t0)))"
		else
			rc=1
		fi
		rm -f -- "$RS_PID_DIR/supervisor.pid"
	fi
	exit "$rc"
}

# The `up` process that started the stack (foreground or detached), if alive.
rs_supervisor_pid() {
	local pid
	pid=$(rs_pidfile_read supervisor) || return 1
	[[ $pid != "$$" ]] && rs_alive "$pid" || return 1
	case $(rs_comm "$pid") in
	rideshare | bash) printf '%s' "$pid" ;;
	*) return 1 ;;
	esac
}

# ---------------------------------------------------------------- down

# Stops one component by its recorded pids with its signal plan.
rs_stop_component() {
	local name=$1 pids=() pid
	while read -r pid; do
		[[ -n $pid ]] && rs_alive "$pid" && pids+=("$pid")
	done < <(rs_component_pids "$name" | sort -un)
	((${#pids[@]})) || return 0
	local plan=${RS_STOP_PLAN[$name]}
	plan=${plan//@ORCH_STOP_MS@/${RS_ORCH_STOP_MS:-10000}}
	if rs_terminate "$name" "$plan" "${pids[@]}"; then
		rs_say "stopped $name (pid ${pids[*]})"
	else
		rs_err "could not stop $name (pid ${pids[*]})"
		return 1
	fi
}

rs_stop_workers() {
	local pids
	mapfile -t pids < <(rs_worker_pids)
	((${#pids[@]})) || return 0
	if rs_terminate workers "${RS_STOP_PLAN[workers]}" "${pids[@]}"; then
		rs_say "stopped ${#pids[@]} leftover worker(s) (pid ${pids[*]})"
	else
		rs_err "could not stop workers (pid ${pids[*]})"
	fi
}

# Stops everything of this stack in reverse start order, then checks that no
# process of it is left and none of its ports listens. Fails if something is.
rs_stack_stop() {
	local rc=0 pid p name var leftovers
	if [[ -n ${RS_RABBIT_WAIT_PID-} ]]; then
		kill "$RS_RABBIT_WAIT_PID" 2>/dev/null || true
	fi
	# Parallel where order does not matter. Wait on these jobs only: in the
	# foreground `up` the servers are background jobs of this shell too.
	local jobs=()
	rs_stop_component nginx || rc=1
	rs_stop_component users &
	jobs+=($!)
	rs_stop_component rides &
	jobs+=($!)
	wait "${jobs[@]}" || true
	rs_stop_component orchestrator || rc=1
	rs_stop_workers || rc=1
	jobs=()
	rs_stop_component zookeeper &
	jobs+=($!)
	rs_stop_component rabbitmq &
	jobs+=($!)
	rs_stop_component postgres &
	jobs+=($!)
	wait "${jobs[@]}" || true
	rs_stop_component epmd || rc=1

	# The `up` that started the stack leaves by itself once its components
	# are gone (it reaps them); nudge it if it does not.
	if pid=$(rs_supervisor_pid); then
		rs_wait_dead 3000 "$pid" || rs_terminate supervisor "TERM:5000 KILL:2000" "$pid" || rc=1
	fi

	# Anything still carrying the marker (or a PostgreSQL backend) is a leftover.
	mapfile -t leftovers < <(rs_stack_member_pids)
	if ((${#leftovers[@]})); then
		rs_warn "killing leftover processes: $(rs_describe_pids "${leftovers[@]}")"
		kill -KILL "${leftovers[@]}" 2>/dev/null || true
		rs_wait_dead 3000 "${leftovers[@]}" || true
		mapfile -t leftovers < <(rs_stack_member_pids)
		if ((${#leftovers[@]})); then
			rs_err "still running: $(rs_describe_pids "${leftovers[@]}")"
			rc=1
		fi
	fi

	local -A listening=()
	while read -r p; do listening[$p]=1; done < <(rs_listening_ports)
	for name in "${RS_PORT_NAMES[@]}"; do
		var=RS_${name}_PORT
		p=${!var-}
		if [[ -n $p && -n ${listening[$p]-} ]]; then
			rs_err "port $p (RIDESHARE_${name}_PORT) still listening:"
			rs_port_owner "$p" | sed 's/^/    /' >&2
			rc=1
		fi
	done

	for pid in "$RS_PID_DIR"/*.pid; do
		[[ -e $pid ]] || continue
		p=$(rs_pidfile_read "$(basename "$pid" .pid)" || true)
		rs_alive "$p" || rm -f -- "$pid"
	done
	return "$rc"
}

# "123(postgres) 456(java)"
rs_describe_pids() {
	local p out=()
	for p; do out+=("$p($(rs_comm "$p" || echo '?'))"); done
	printf '%s' "${out[*]}"
}

# Refuses to delete anything that does not look like a stack dir.
rs_stack_purge() {
	local d=$RS_STACK_DIR link target
	case $d in
	/ | "$HOME" | "$RS_ROOT" | /root | /tmp | /home | /work) rs_die "refusing to purge $d" ;;
	esac
	[[ -f $d/stack.env || -d $d/pids ]] || rs_die "refusing to purge $d: it does not look like a stack dir"
	link=$d/pg
	if [[ -L $link ]]; then
		target=$(readlink -- "$link")
		[[ $target == /tmp/rideshare-pg-* ]] && rm -rf -- "$target"
	fi
	rm -rf -- "$d"
	rs_say "purged $d"
}

cmd_down() {
	local purge=0 arg
	for arg; do
		case $arg in
		--purge) purge=1 ;;
		-h | --help)
			echo "usage: ./rideshare down [--purge]   (data is kept for the next up; --purge deletes the stack dir and all data)"
			return 0
			;;
		*) rs_die "down: unknown argument '$arg'" ;;
		esac
	done
	rs_config_paths
	if [[ ! -d $RS_STACK_DIR ]]; then
		rs_say "no stack dir at $RS_STACK_DIR: nothing to stop"
		return 0
	fi
	rs_stack_env_load || rs_config_ports
	rs_config_timeouts
	rs_lock 60 || rs_die "another ./rideshare up or down is still working on $RS_STACK_DIR"
	local t0 rc=0
	t0=$(rs_now_ms)
	# Tells the supervising `up` that these exits are expected.
	: >"$RS_STACK_DIR/.stopping"
	rs_stack_stop || rc=1
	rm -f -- "$RS_STACK_DIR/.stopping"
	rs_unlock
	if ((rc)); then
		rs_err "down: something of the stack is still running (see above); stack dir kept"
		return 1
	fi
	rs_say "down in $(rs_fmt_ms $(($(rs_now_ms) - t0))): no process left, no port listening"
	((purge)) && rs_stack_purge
	return 0
}

# ---------------------------------------------------------------- status

cmd_status() {
	rs_config_paths
	if [[ ! -d $RS_STACK_DIR ]]; then
		rs_say "no stack at $RS_STACK_DIR"
		return 1
	fi
	rs_stack_env_load || rs_config_ports
	printf 'stack dir %s' "$RS_STACK_DIR"
	[[ -n ${RS_STARTED_AT-} ]] && printf ', started %s' "$RS_STARTED_AT"
	case ${RS_THROWAWAY-} in
	1) printf ', THROWAWAY data (no fsync)' ;;
	0) printf ', durable' ;;
	esac
	printf '\n%-13s %-8s %-6s %-6s %-8s %s\n' COMPONENT PID STATE PORT RESTARTS HEALTH
	local c pid state health bad=0 any=0 now loop next
	now=$(rs_now_ms)
	for c in "${RS_COMPONENTS[@]}"; do
		pid=-
		if pid=$(rs_component_pid "$c"); then
			state=up
			any=1
			case $c in
			orchestrator | users | rides) health=$(rs_service_health "$c") ;;
			*) health=$("rs_${c}_health") ;;
			esac
			[[ $health == NOT* || $health == *" 000"* ]] && bad=1
		else
			pid=-
			if [[ ${RS_SERVICE_BIN[$c]-} ]] && ! rs_service_built "$c"; then
				state=-
				health="not built"
			else
				state=DOWN
				health=-
				bad=1
			fi
		fi
		rs_restart_counts "$c" "$now"
		loop=''
		next=''
		if ((RS_RC_RECENT >= RS_CRASHLOOP_N)); then
			loop="crash-looping: $RS_RC_RECENT restarts in $((RS_CRASHLOOP_WINDOW_MS / 60000)) min"
			bad=1
		fi
		if [[ $state == DOWN && -n $RS_RC_NEXT_MS ]]; then
			next="next try in $(rs_fmt_ms $((RS_RC_NEXT_MS > now ? RS_RC_NEXT_MS - now : 0)))"
			if [[ -n $loop ]]; then health="$loop, $next"; else health="restarting, $next"; fi
		elif [[ -n $loop ]]; then
			health="$health; $loop"
		fi
		printf '%-13s %-8s %-6s %-6s %-8s %s\n' "$c" "$pid" "$state" "$(rs_component_port "$c")" \
			"$RS_RC_TOTAL" "$health"
	done
	local workers
	if rs_component_pid orchestrator >/dev/null; then
		workers=$(curl --noproxy '*' -s -m 2 "http://127.0.0.1:$RS_ADMIN_PORT/api/v1/worker/list" || true)
		printf 'workers (pids from the orchestrator): %s\n' "${workers:-?}"
	fi
	mapfile -t workers < <(rs_worker_pids)
	((${#workers[@]})) && printf 'worker processes of this stack: %s\n' "${workers[*]}"
	if ((!any)); then
		rs_say "stack not running"
		return 1
	fi
	((bad == 0)) || return 1
	printf 'edge: http://127.0.0.1:%s\n' "$RS_EDGE_PORT"
}
