# shellcheck shell=bash
# The RideShare C services of a local stack: orchestrator (which spawns the
# workers itself), users and rides. Each one is started only when its binary
# exists in <build>/bin/.

declare -A RS_SERVICE_BIN=(
	[orchestrator]=rideshare-orchestrator
	[users]=rideshare-users
	[rides]=rideshare-rides
)

rs_service_bin() {
	printf '%s' "$RS_BIN_DIR/${RS_SERVICE_BIN[$1]}"
}

rs_service_built() {
	[[ -x $(rs_service_bin "$1") ]]
}

rs_service_port() {
	case $1 in
	orchestrator) printf '%s' "$RS_ADMIN_PORT" ;;
	users) printf '%s' "$RS_USERS_PORT" ;;
	rides) printf '%s' "$RS_RIDES_PORT" ;;
	esac
}

# Environment of every C binary: the endpoints of this stack (always ours),
# the worker binary (the caller's RIDESHARE_WORKER_BIN wins, e.g. a wrapper).
# Any other RIDESHARE_* of the caller passes through unchanged.
rs_service_env() {
	mapfile -t RS_SVC_ENV < <(rs_endpoint_env)
	RS_SVC_ENV+=("RIDESHARE_WORKER_BIN=${RIDESHARE_WORKER_BIN:-$RS_BIN_DIR/rideshare-worker}")
}

rs_service_start() {
	local name=$1 extra=()
	rs_service_env
	[[ $name == orchestrator ]] || extra=("RIDESHARE_SERVICE_NAME=$name")
	rs_spawn "$name" "$RS_LOG_DIR/$name.log" "$RS_STACK_DIR" \
		"${RS_SVC_ENV[@]}" "RIDESHARE_HTTP_PORT=$(rs_service_port "$name")" "${extra[@]}" -- \
		"$(rs_service_bin "$name")"
}

# Readiness: the orchestrator's /readyz (servers reachable, master elected),
# the gateways' /healthz.
rs_service_ready() {
	local path=/healthz
	[[ $1 == orchestrator ]] && path=/readyz
	[[ $(rs_http_code "http://127.0.0.1:$(rs_service_port "$1")$path" 1) == 200 ]]
}

rs_service_health() {
	local port code ready
	port=$(rs_service_port "$1")
	code=$(rs_http_code "http://127.0.0.1:$port/healthz")
	if [[ $1 == orchestrator ]]; then
		ready=$(rs_http_code "http://127.0.0.1:$port/readyz")
		echo "healthz $code, readyz $ready"
	else
		echo "healthz $code"
	fi
}

# Pids of workers of this stack (they carry the stack marker, inherited from
# the orchestrator that spawned them).
rs_worker_pids() {
	local pid
	while read -r pid; do
		[[ $(rs_comm "$pid") == rideshare-worke* ]] && printf '%s\n' "$pid"
	done < <(rs_stack_member_pids)
	return 0
}
