# shellcheck shell=bash
# `./rideshare status`: pid, state, port, health and restarts of every component.

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
		local auth
		auth=$(curl --noproxy '*' -s -m 2 "http://127.0.0.1:$RS_ADMIN_PORT/metrics" |
			awk '$1 == "rideshare_admin_auth_enabled" { print $2 }' || true)
		case $auth in
		1) printf 'admin API: state-changing calls need the bearer token (RIDESHARE_ADMIN_TOKEN)\n' ;;
		0) printf 'admin API: OPEN, no token (loopback only; set RIDESHARE_ADMIN_TOKEN or _FILE at up to require one)\n' ;;
		esac
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
