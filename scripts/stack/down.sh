# shellcheck shell=bash
# `./rideshare down [--purge]`: stop the local stack; delete it only with --purge.

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

# Stops the components named at once, parallel where order does not matter.
# Waits on these jobs only: in the foreground `up` the servers are
# background jobs of this shell too.
rs_stop_together() {
	local c jobs=()
	for c in "$@"; do
		rs_stop_component "$c" &
		jobs+=($!)
	done
	wait "${jobs[@]}" || true
}

# Stops everything of this stack in reverse start order, then checks that no
# process of it is left and none of its ports listens. Fails if something is.
rs_stack_stop() {
	local rc=0 pid p name var leftovers
	if [[ -n ${RS_RABBIT_WAIT_PID-} ]]; then
		kill "$RS_RABBIT_WAIT_PID" 2>/dev/null || true
	fi
	rs_stop_component nginx || rc=1
	rs_stop_together users rides
	rs_stop_component orchestrator || rc=1
	rs_stop_workers || rc=1
	rs_stop_together zookeeper rabbitmq postgres
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

