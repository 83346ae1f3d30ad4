# shellcheck shell=bash
# `./rideshare up [--detach]`: start the local stack and supervise it.

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
	# shellcheck disable=SC2034 # written to stack.env, shown by status
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

