# shellcheck shell=bash
# What compose.sh and swarm.sh share (sourced after scripts/lib/say.sh;
# each script defines docker_unavailable, its own reasons not to run).

now() { date +%s.%N; }
# Seconds since $1 (a `now`), one decimal.
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# Start of `test`: without what the deployment needs, prints
# "SKIPPED: <reason>" and exits $RIDESHARE_SKIP_RC (default 0).
skip_unless_runnable() {
	local reason
	reason=$(docker_unavailable)
	if [ -n "$reason" ]; then
		echo "SKIPPED: $reason"
		exit "${RIDESHARE_SKIP_RC:-0}"
	fi
}

# test_up KEEP: the start of `test` (the script's cmd_up and cmd_down):
# skipped without what the deployment needs; up with no autoscaling (the
# suites expect 1 master + 1 slave; a test may set its own window through
# the admin API); unless KEEP is 1, down with its data at exit (a test
# deployment starts and ends empty).
test_up() {
	skip_unless_runnable
	if [ "${1:-0}" != 1 ]; then
		trap 'cmd_down --volumes || true' EXIT
	fi
	export RIDESHARE_SCALE_WINDOW_S=${RIDESHARE_SCALE_WINDOW_S:-3600}
	cmd_up
}

# export_endpoints EDGE USERS RIDES ADMIN: the endpoint variables
# tests/with-stack.sh gives the local-stack tests, for the deployment's
# published ports on this host.
export_endpoints() {
	export RIDESHARE_EDGE_URL="http://127.0.0.1:$1"
	export RIDESHARE_USERS_URL="http://127.0.0.1:$2"
	export RIDESHARE_RIDES_URL="http://127.0.0.1:$3"
	export RIDESHARE_ADMIN_URL="http://127.0.0.1:$4"
}
