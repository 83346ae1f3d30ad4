# shellcheck shell=bash
# shellcheck disable=SC2034 # RS_* globals are read by the other stack scripts
# Configuration of a local stack: paths and ports, validated, exactly as in
# docs/conventions.md. Needs lib.sh and RS_ROOT (the repo root).

# Component ports: NAME (RIDESHARE_<NAME>_PORT) and offset from RIDESHARE_PORT_BASE.
RS_PORT_NAMES=(EDGE USERS RIDES ADMIN PG AMQP AMQP_DIST EPMD ZK)
declare -A RS_PORT_OFFSET=(
	[EDGE]=0 [USERS]=1 [RIDES]=2 [ADMIN]=10
	[PG]=20 [AMQP]=21 [AMQP_DIST]=22 [EPMD]=23 [ZK]=24
)
RS_PORT_MAX_OFFSET=24

# Everything recorded in <stack>/stack.env when a stack starts, so that `down`
# and `status` act on the stack as it was started, whatever the caller's env.
RS_STACK_ENV_VARS=(
	RS_BUILD_DIR RS_PG_DATA RS_PG_USER RS_RABBIT_NODE RS_STARTED_AT RS_THROWAWAY
	RS_EDGE_PORT RS_USERS_PORT RS_RIDES_PORT RS_ADMIN_PORT RS_PG_PORT
	RS_AMQP_PORT RS_AMQP_DIST_PORT RS_EPMD_PORT RS_ZK_PORT
)

# Sets RS_STACK_DIR, RS_BUILD_DIR and the derived directories (absolute paths;
# relative values are taken relative to the caller's working directory).
rs_config_paths() {
	RS_STACK_DIR=$(realpath -m -- "${RIDESHARE_STACK_DIR:-$RS_ROOT/.stack}")
	RS_BUILD_DIR=$(realpath -m -- "${RIDESHARE_BUILD_DIR:-$RS_ROOT/build}")
	rs_config_derived_dirs
}

rs_config_derived_dirs() {
	# Short id of the stack dir: names what must be unique per stack on this
	# machine (PostgreSQL cluster name, the /tmp data dir when needed).
	RS_STACK_ID=$(printf '%s' "$RS_STACK_DIR" | sha1sum | cut -c1-12)
	RS_PID_DIR=$RS_STACK_DIR/pids
	RS_LOG_DIR=$RS_STACK_DIR/logs
	RS_BIN_DIR=$RS_BUILD_DIR/bin
}

# Sets RS_<NAME>_PORT for every component from RIDESHARE_PORT_BASE and the
# per-port overrides; exits naming the variable at the first bad value.
rs_config_ports() {
	local base=${RIDESHARE_PORT_BASE:-8080} name var val
	rs_valid_port "$base" ||
		rs_die "RIDESHARE_PORT_BASE='$base' is not a valid port (an integer 1..65535)"
	base=$((10#$base))
	for name in "${RS_PORT_NAMES[@]}"; do
		var=RIDESHARE_${name}_PORT
		val=${!var-}
		if [[ -n $val ]]; then
			rs_valid_port "$val" ||
				rs_die "$var='$val' is not a valid port (an integer 1..65535)"
			val=$((10#$val))
		else
			val=$((base + RS_PORT_OFFSET[$name]))
			((val <= 65535)) ||
				rs_die "RIDESHARE_PORT_BASE=$base is too high: $var would be $val;" \
					"use a base <= $((65535 - RS_PORT_MAX_OFFSET)) or set $var"
		fi
		printf -v "RS_${name}_PORT" '%s' "$val"
	done
	rs_config_check_distinct
	RS_RABBIT_NODE=rideshare-$RS_AMQP_PORT@localhost
}

# Two components on one port can only end in a confusing failure: refuse early.
rs_config_check_distinct() {
	local -A seen=()
	local name port
	for name in "${RS_PORT_NAMES[@]}"; do
		port=RS_${name}_PORT
		port=${!port}
		if [[ -n ${seen[$port]-} ]]; then
			rs_die "RIDESHARE_${name}_PORT and RIDESHARE_${seen[$port]}_PORT are both $port;" \
				"every component needs its own port"
		fi
		seen[$port]=$name
	done
}

# rs_env_uint NAME VAR DEFAULT: sets NAME to $VAR (a non-negative integer) or
# DEFAULT when VAR is unset or empty; exits naming VAR on anything else.
rs_env_uint() {
	local val=${!2-}
	[[ -n $val ]] || val=$3
	[[ $val =~ ^[0-9]{1,9}$ ]] || rs_die "$2='$val' is not a non-negative integer"
	printf -v "$1" '%s' "$((10#$val))"
}

# Deadlines and grace periods (seconds / milliseconds).
rs_config_timeouts() {
	rs_env_uint RS_SERVER_TIMEOUT_S RIDESHARE_SERVER_TIMEOUT_S 60
	rs_env_uint RS_SERVICE_TIMEOUT_S RIDESHARE_SERVICE_TIMEOUT_S 60
	rs_env_uint RS_ORCH_STOP_MS RIDESHARE_ORCH_STOP_MS 10000
}

# Sets RS_THROWAWAY: 0 (default) = PostgreSQL with fsync, synchronous_commit
# and full_page_writes, ZooKeeper with forceSync; 1 = none of them (fast,
# loses acknowledged writes on a crash). RIDESHARE_THROWAWAY=1 asks for it;
# the older RIDESHARE_PG_DURABLE=0 is still read as the same request.
rs_config_durability() {
	local t=${RIDESHARE_THROWAWAY-} d=${RIDESHARE_PG_DURABLE-}
	[[ -z $t || $t == 0 || $t == 1 ]] || rs_die "RIDESHARE_THROWAWAY='$t' must be 0 or 1"
	[[ -z $d || $d == 0 || $d == 1 ]] || rs_die "RIDESHARE_PG_DURABLE='$d' must be 0 or 1 (deprecated: use RIDESHARE_THROWAWAY=1)"
	if [[ $t == 1 && $d == 1 ]] || [[ $t == 0 && $d == 0 ]]; then
		rs_die "RIDESHARE_THROWAWAY=$t and RIDESHARE_PG_DURABLE=$d contradict each other; set only RIDESHARE_THROWAWAY"
	fi
	RS_THROWAWAY=0
	if [[ $t == 1 || $d == 0 ]]; then RS_THROWAWAY=1; fi
}

rs_config_load() {
	rs_config_paths
	rs_config_ports
	rs_config_timeouts
	rs_config_durability
}

# Writes <stack>/stack.env from the current RS_* values.
rs_stack_env_write() {
	local v
	{
		printf '# written by ./rideshare up; read by down and status\n'
		for v in "${RS_STACK_ENV_VARS[@]}"; do
			printf '%s=%q\n' "$v" "${!v-}"
		done
	} >"$RS_STACK_DIR/stack.env"
}

# Loads <stack>/stack.env if present (true), else leaves the config alone (false).
rs_stack_env_load() {
	local f=$RS_STACK_DIR/stack.env
	[[ -f $f ]] || return 1
	# shellcheck disable=SC1090
	source "$f"
	rs_config_derived_dirs
	return 0
}

# The stack's generated credentials (docs/security.md): a 0700 directory of
# 0600 files, made by `up` (rs_secrets_prepare), deleted only by --purge.
rs_secrets_dir() { printf '%s' "$RS_STACK_DIR/secrets"; }

# The environment a client of this stack needs, as NAME=VALUE lines. The C
# binaries, tests/with-stack.sh and `status` all take their endpoints from here.
# Credentials travel as file paths: RIDESHARE_AMQP_URL_FILE and
# RIDESHARE_ZK_AUTH_FILE (read by common/rs_cfg), PGPASSFILE (read by libpq).
rs_endpoint_env() {
	local sd
	sd=$(rs_secrets_dir)
	printf '%s\n' \
		"RIDESHARE_STACK_DIR=$RS_STACK_DIR" \
		"RIDESHARE_EDGE_URL=http://127.0.0.1:$RS_EDGE_PORT" \
		"RIDESHARE_USERS_URL=http://127.0.0.1:$RS_USERS_PORT" \
		"RIDESHARE_RIDES_URL=http://127.0.0.1:$RS_RIDES_PORT" \
		"RIDESHARE_ADMIN_URL=http://127.0.0.1:$RS_ADMIN_PORT" \
		"RIDESHARE_AMQP_URL_FILE=$sd/amqp_url" \
		"RIDESHARE_ZK_HOSTS=127.0.0.1:$RS_ZK_PORT" \
		"RIDESHARE_ZK_AUTH_FILE=$sd/zk_auth" \
		"PGPASSFILE=$sd/pgpass" \
		"RIDESHARE_PG_CONNINFO=host=127.0.0.1 port=$RS_PG_PORT user=postgres dbname=postgres"
	local name var
	for name in "${RS_PORT_NAMES[@]}"; do
		var=RS_${name}_PORT
		printf 'RIDESHARE_%s_PORT=%s\n' "$name" "${!var}"
	done
}
