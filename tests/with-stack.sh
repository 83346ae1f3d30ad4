#!/usr/bin/env bash
# A throwaway local stack for system tests, on ports from BASE (see
# docs/conventions.md), in <stack root>/stack-BASE. No package check and no
# build: ctest runs after the build.
#
#   tests/with-stack.sh BASE -- CMD [ARGS...]
#       start the stack, run CMD with the endpoint variables below, always stop
#       it and delete its dir; exits with CMD's status (1 if CMD passed but the
#       stack could not be stopped cleanly).
#   tests/with-stack.sh BASE up            ctest FIXTURES_SETUP: start, leave running
#   tests/with-stack.sh BASE env -- CMD    ctest FIXTURES_REQUIRED: run CMD against
#                                          the running stack (`exec -- CMD` too)
#   tests/with-stack.sh BASE down          ctest FIXTURES_CLEANUP: stop, delete
#   tests/with-stack.sh BASE env           print the variables (eval-able)
#
# CMD gets: RIDESHARE_EDGE_URL, RIDESHARE_USERS_URL, RIDESHARE_RIDES_URL,
# RIDESHARE_ADMIN_URL, RIDESHARE_AMQP_URL, RIDESHARE_ZK_HOSTS,
# RIDESHARE_PG_CONNINFO, RIDESHARE_STACK_DIR, RIDESHARE_PORT_BASE and every
# RIDESHARE_<NAME>_PORT.
#
# Environment: RIDESHARE_BUILD_DIR (binaries, default <repo>/build; set it to
# ${CMAKE_BINARY_DIR} in the test's ENVIRONMENT), RIDESHARE_TEST_STACK_ROOT
# (where stack-BASE goes, default the build dir), RIDESHARE_KEEP_STACK=1 (stop
# but do not delete the stack dir). The stack is durable (fsync) like any
# other; RIDESHARE_THROWAWAY=1 in the caller's environment makes it fast and
# not crash-safe (never for the chaos tests, which kill servers). On failure the stack's logs are copied to
# <stack root>/failed-stack-BASE/ and their tails printed.
set -euo pipefail
# shellcheck source-path=SCRIPTDIR/..

ROOT=$(cd "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/.." && pwd)
RIDESHARE=$ROOT/rideshare

usage() {
	sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed -e '$d' -e 's/^# \{0,1\}//' >&2
	exit 2
}

(($# >= 2)) || usage
BASE=$1
MODE=$2
shift 2

# shellcheck disable=SC2034 # read by config.sh
RS_ROOT=$ROOT
# shellcheck source=scripts/stack/lib.sh
source "$ROOT/scripts/stack/lib.sh"
# shellcheck source=scripts/stack/config.sh
source "$ROOT/scripts/stack/config.sh"

rs_valid_port "$BASE" || rs_die "with-stack: BASE '$BASE' is not a port number"

# BASE decides every port: drop per-port overrides from the caller's env.
for name in "${RS_PORT_NAMES[@]}"; do
	unset "RIDESHARE_${name}_PORT"
done
export RIDESHARE_PORT_BASE=$((10#$BASE))
build_dir=$(realpath -m -- "${RIDESHARE_BUILD_DIR:-$ROOT/build}")
stack_root=$(realpath -m -- "${RIDESHARE_TEST_STACK_ROOT:-$build_dir}")
export RIDESHARE_BUILD_DIR=$build_dir
export RIDESHARE_STACK_DIR=$stack_root/stack-$RIDESHARE_PORT_BASE
export RIDESHARE_NO_BUILD=1 RIDESHARE_NO_DEPS=1
rs_config_load

# The endpoint variables, exported for CMD.
export_endpoints() {
	local line
	while IFS= read -r line; do
		export "${line?}"
	done < <(rs_endpoint_env)
}

# Keeps the logs of a failed run and shows their ends (ctest prints them).
keep_logs() {
	local logs=$RIDESHARE_STACK_DIR/logs dest=$stack_root/failed-stack-$RIDESHARE_PORT_BASE
	[[ -d $logs ]] || return 0
	rm -rf -- "$dest"
	mkdir -p -- "$dest"
	cp -r -- "$logs" "$dest/" 2>/dev/null || true
	echo "with-stack: logs of the stack kept in $dest/logs" >&2
	RS_TAIL_LINES=40 rs_log_tail "$logs"/orchestrator.log "$logs"/users.log "$logs"/rides.log \
		"$logs"/nginx-error.log
}

stack_down() {
	local args=(down)
	[[ ${RIDESHARE_KEEP_STACK-} == 1 ]] || args+=(--purge)
	"$RIDESHARE" "${args[@]}"
}

# A stack dir left by an aborted run (e.g. a ctest timeout) is stopped and
# deleted first, so its ports are free again.
stack_up() {
	if [[ -d $RIDESHARE_STACK_DIR ]]; then
		echo "with-stack: clearing a stack left in $RIDESHARE_STACK_DIR" >&2
		"$RIDESHARE" down --purge >&2 || true
	fi
	if ! "$RIDESHARE" up --detach; then
		keep_logs
		"$RIDESHARE" down --purge >&2 || true
		return 1
	fi
}

case $MODE in
--)
	(($#)) || usage
	# shellcheck disable=SC2317 # called by the EXIT trap
	cleanup() {
		local rc=$?
		trap - EXIT
		trap '' INT TERM
		((rc == 0)) || keep_logs
		if ! stack_down; then
			echo "with-stack: the stack did not stop cleanly" >&2
			((rc != 0)) || rc=1
		fi
		exit "$rc"
	}
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	stack_up || exit 1
	export_endpoints
	rc=0
	"$@" || rc=$?
	exit "$rc"
	;;
up)
	stack_up
	;;
env | exec)
	[[ ${1-} == -- ]] && shift
	if (($#)); then
		export_endpoints
		exec "$@"
	fi
	[[ $MODE == env ]] || usage
	rs_endpoint_env | while IFS= read -r line; do
		printf 'export %s=%q\n' "${line%%=*}" "${line#*=}"
	done
	printf 'export RIDESHARE_PORT_BASE=%s\n' "$RIDESHARE_PORT_BASE"
	;;
down)
	stack_down
	;;
*)
	usage
	;;
esac
