# shellcheck shell=bash
# The supervisor loop of a local stack: the process that ran `up` (foreground,
# or the detached copy) stays as the parent of the servers, reaps them, and
# restarts any component that dies while no `down` is running: PostgreSQL,
# epmd, RabbitMQ, ZooKeeper, orchestrator, users, rides, nginx. Workers are
# the orchestrator's (it spawns and adopts them): never touched here.
#
# Back-off per component: RS_RESTART_MIN_MS (0.5 s) doubling up to
# RS_RESTART_MAX_MS (30 s), back to the minimum once the component has stayed
# up RS_RESTART_STABLE_MS (60 s). A component restarted RS_CRASHLOOP_N times
# within RS_CRASHLOOP_WINDOW_MS is reported as crash-looping (supervisor.log,
# `status`); it is still retried, at the back-off's pace only.
#
# State for `status`, in <stack>/restarts/: NAME (one line per restart:
# "<epoch ms> <old pid> <reason>") and NAME.next (epoch ms of the next try,
# only while one is pending). Reset by every `up`.

RS_RESTART_MIN_MS=500
RS_RESTART_MAX_MS=30000
RS_RESTART_STABLE_MS=60000
RS_CRASHLOOP_N=5
RS_CRASHLOOP_WINDOW_MS=300000

rs_restart_dir() { printf '%s' "$RS_STACK_DIR/restarts"; }

# One line in the supervisor's output (logs/supervisor.log when detached).
rs_sv_log() {
	printf '%(%Y-%m-%dT%H:%M:%S%z)T supervisor: %s\n' -1 "$*"
}

# rs_restart_counts NAME NOW_MS: sets RS_RC_TOTAL (restarts since `up`),
# RS_RC_RECENT (within the crash-loop window) and RS_RC_NEXT_MS (epoch ms of
# the pending try, empty when none).
rs_restart_counts() {
	local f ts _ now=$2
	f=$(rs_restart_dir)/$1
	RS_RC_TOTAL=0
	RS_RC_RECENT=0
	RS_RC_NEXT_MS=
	if [[ -f $f ]]; then
		while read -r ts _; do
			[[ $ts =~ ^[0-9]+$ ]] || continue
			RS_RC_TOTAL=$((RS_RC_TOTAL + 1))
			((now - ts > RS_CRASHLOOP_WINDOW_MS)) || RS_RC_RECENT=$((RS_RC_RECENT + 1))
		done <"$f"
	fi
	RS_RC_NEXT_MS=$(rs_first_line "$f.next" 2>/dev/null) || RS_RC_NEXT_MS=
	[[ $RS_RC_NEXT_MS =~ ^[0-9]+$ ]] || RS_RC_NEXT_MS=
	return 0
}

# Sets RS_EXIT_REASON to how PID (a child of this shell, already dead)
# ended: "exit N", "killed by SIGKILL", or "gone" when it was not our child
# (status unknown). Must run in this shell, not in $(...): only the parent
# can collect a child's status.
rs_exit_reason() {
	local rc=0
	RS_EXIT_REASON=gone
	[[ $1 =~ ^[0-9]+$ ]] || return 0
	wait "$1" 2>/dev/null || rc=$?
	if ((rc == 127)); then
		RS_EXIT_REASON=gone
	elif ((rc > 128)); then
		RS_EXIT_REASON="killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
	else
		RS_EXIT_REASON="exit $rc"
	fi
}

# A restarted RabbitMQ is recorded by its wrapper's pid until the node has
# written its own pid file; then by beam's (what `down` and `status` expect).
rs_rabbitmq_pid_refresh() {
	local pid beam
	pid=$(rs_pidfile_read rabbitmq) || return 0
	[[ $(rs_comm "$pid") == rabbitmq-server ]] || return 0
	beam=$(rs_first_line "$RS_RABBIT_PIDFILE") || return 0
	if rs_alive "$beam" && [[ $(rs_comm "$beam") == beam.smp ]]; then
		printf '%s\n' "$beam" >"$RS_PID_DIR/rabbitmq.pid"
	fi
}

# PostgreSQL backends of this stack's cluster (their title names it).
rs_postgres_backend_pids() {
	local p
	grep -lz -- "^postgres: rideshare-$RS_STACK_ID: " /proc/[0-9]*/cmdline 2>/dev/null |
		while IFS=/ read -r _ _ p _; do
			rs_alive "$p" && printf '%s\n' "$p"
		done
	return 0
}

# "pid(title)" of each PID, for the log.
rs_describe_cmdlines() {
	local p t out=()
	for p; do
		t=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null) || t='?'
		out+=("$p(${t% })")
	done
	printf '%s' "${out[*]}"
}

# Processes listening on PORT whose command is COMM (e.g. nginx workers left
# by a killed master: they keep the edge port and would make the new master
# fail to bind). The port is this stack's, so they are ours.
rs_port_holders() {
	local port=$1 comm=$2 p
	rs_port_owner "$port" | grep -o 'pid=[0-9]*' | cut -d= -f2 | sort -un |
		while read -r p; do
			[[ $(rs_comm "$p") == "$comm" ]] && printf '%s\n' "$p"
		done
	return 0
}

# rs_restart_component NAME: clears what the dead process left behind and
# starts NAME again (no readiness wait: the loop must keep watching the
# others). Fails with the reason in RS_RESTART_WHY when it cannot be started
# now. Runs in the supervisor's own shell (never in $(...)), so the new
# process is its child and gets reaped.
rs_restart_component() {
	local name=$1 pids=()
	RS_RESTART_WHY=
	RS_RESTART_NOTE=
	case $name in
	postgres)
		# Backends leave by themselves once the postmaster is gone; a new
		# postmaster must not start while one still uses the data dir.
		mapfile -t pids < <(rs_postgres_backend_pids)
		if ((${#pids[@]})) && ! rs_wait_dead 3000 "${pids[@]}"; then
			mapfile -t pids < <(rs_postgres_backend_pids)
			RS_RESTART_NOTE="; SIGKILLed ${#pids[@]} backend(s) still alive after 3 s: $(rs_describe_cmdlines "${pids[@]}")"
			kill -KILL "${pids[@]}" 2>/dev/null || true
			rs_wait_dead 2000 "${pids[@]}" || {
				RS_RESTART_WHY="backends ${pids[*]} still alive"
				return 1
			}
		fi
		local pid
		if pid=$(rs_first_line "$RS_PG_DATA/postmaster.pid"); then
			if rs_alive "$pid" && [[ $(rs_comm "$pid") == postgres ]]; then
				RS_RESTART_WHY="a postmaster (pid $pid) runs on $RS_PG_DATA"
				return 1
			fi
			rm -f -- "$RS_PG_DATA/postmaster.pid"
		fi
		rs_postgres_start
		;;
	epmd) rs_epmd_start ;;
	rabbitmq)
		if ! rs_epmd_ready; then
			RS_RESTART_WHY="its epmd is not answering yet"
			return 1
		fi
		# The wrapper exits with beam; whichever is left goes now.
		mapfile -t pids < <(rs_rabbitmq_pids)
		if ((${#pids[@]})); then
			kill -KILL "${pids[@]}" 2>/dev/null || true
			rs_wait_dead 2000 "${pids[@]}" || true
		fi
		rm -f -- "$RS_RABBIT_PIDFILE"
		rs_rabbitmq_start
		cp -- "$RS_PID_DIR/rabbitmq-server.pid" "$RS_PID_DIR/rabbitmq.pid"
		;;
	zookeeper) rs_zookeeper_start ;;
	nginx)
		mapfile -t pids < <(rs_port_holders "$RS_EDGE_PORT" nginx)
		if ((${#pids[@]})); then
			rs_terminate "nginx workers" "QUIT:2000 KILL:2000" "${pids[@]}" || true
		fi
		rs_nginx_start
		;;
	orchestrator | users | rides)
		# Same environment as at `up`: this process is the one that ran it.
		rs_service_start "$name"
		;;
	*)
		RS_RESTART_WHY="no restart rule"
		return 1
		;;
	esac
	return 0
}

# Watches the components until a signal (the EXIT trap then stops them all)
# or until they are all gone during a `down` (then leaves quietly). Reaps the
# servers, which are its children, and restarts those that died.
rs_supervise() {
	local -A delay=() due=() since=() dead_pid=() reason=() looping=()
	local c any now pid rdir stopping attempt next
	rdir=$(rs_restart_dir)
	mkdir -p -- "$rdir" || true
	rs_rabbitmq_env
	now=$(rs_now_ms)
	for c in "${RS_COMPONENTS[@]}"; do
		since[$c]=$now
		delay[$c]=$RS_RESTART_MIN_MS
	done
	while :; do
		sleep 0.5 &
		wait $! || true
		now=$(rs_now_ms)
		any=0
		stopping=0
		[[ -e $RS_STACK_DIR/.stopping ]] && stopping=1
		rs_rabbitmq_pid_refresh
		for c in "${RS_COMPONENTS[@]}"; do
			[[ -f $RS_PID_DIR/$c.pid ]] || continue
			if rs_component_pid "$c" >/dev/null; then
				any=1
				if ((now - since[$c] >= RS_RESTART_STABLE_MS && delay[$c] != RS_RESTART_MIN_MS)); then
					delay[$c]=$RS_RESTART_MIN_MS
					looping[$c]=
				fi
				continue
			fi
			((stopping)) && continue
			any=1
			if [[ -z ${due[$c]-} ]]; then
				# Just found dead: reap it, schedule the next try.
				pid=$(rs_pidfile_read "$c" || echo '?')
				dead_pid[$c]=$pid
				rs_exit_reason "$pid"
				if [[ $c == rabbitmq && $RS_EXIT_REASON == gone ]]; then
					# beam is the wrapper's child, not ours: ask the wrapper.
					rs_exit_reason "$(rs_pidfile_read rabbitmq-server || true)"
					RS_EXIT_REASON="beam.smp gone (not our child), wrapper $RS_EXIT_REASON"
				fi
				reason[$c]=$RS_EXIT_REASON
				due[$c]=$((now + delay[$c]))
				printf '%s\n' "${due[$c]}" 2>/dev/null >"$rdir/$c.next" || true
				continue
			fi
			((now >= due[$c])) || continue
			# `down` takes the same lock: never restart under its feet.
			rs_lock 0 || continue
			if [[ -e $RS_STACK_DIR/.stopping ]]; then
				rs_unlock
				continue
			fi
			rs_restart_counts "$c" "$now"
			attempt=$((RS_RC_TOTAL + 1))
			next=$((delay[$c] * 2))
			((next <= RS_RESTART_MAX_MS)) || next=$RS_RESTART_MAX_MS
			# (a failed write must not end the loop: set -e would stop the stack)
			printf '%s %s %s\n' "$now" "${dead_pid[$c]}" "${reason[$c]// /_}" 2>/dev/null >>"$rdir/$c" || true
			if rs_restart_component "$c"; then
				pid=$(rs_pidfile_read "$c" || echo '?')
				rs_sv_log "restart $c: pid ${dead_pid[$c]} ${reason[$c]}; attempt $attempt;" \
					"new pid $pid; next delay $(rs_fmt_ms "$next")$RS_RESTART_NOTE"
				dead_pid[$c]=$pid
			else
				rs_sv_log "restart $c: pid ${dead_pid[$c]} ${reason[$c]}; attempt $attempt FAILED ($RS_RESTART_WHY);" \
					"next delay $(rs_fmt_ms "$next")"
				reason[$c]="restart failed: $RS_RESTART_WHY"
			fi
			rs_unlock
			since[$c]=$now
			delay[$c]=$next
			unset "due[$c]"
			rm -f -- "$rdir/$c.next"
			if ((RS_RC_RECENT + 1 >= RS_CRASHLOOP_N)) && [[ -z ${looping[$c]-} ]]; then
				looping[$c]=1
				rs_sv_log "warning: $c is crash-looping: $((RS_RC_RECENT + 1)) restarts in" \
					"$((RS_CRASHLOOP_WINDOW_MS / 60000)) min; retrying every $(rs_fmt_ms "$next") at most"
				# shellcheck disable=SC2046
				rs_log_tail $(rs_component_logs "$c") 2>&1
			fi
		done
		if ((!any)); then
			# shellcheck disable=SC2034 # read by rs_up_on_exit (stack.sh)
			RS_TEARDOWN_ON_EXIT=0
			rs_say "every component has stopped; leaving"
			exit 0
		fi
	done
}
