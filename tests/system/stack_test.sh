# shellcheck shell=bash
# What the shell tests of the local stack share (stack_supervisor.sh,
# stack_keeps_data.sh): run under tests/with-stack.sh; sets ROOT,
# RIDESHARE (the ./rideshare script) and S (the stack dir), sources the
# stack's helpers (scripts/stack/lib.sh, servers.sh), and counts failures
# in $fails: `fail MESSAGE` prints "FAIL: MESSAGE" and goes on.
# shellcheck disable=SC2034 # RIDESHARE and S are for the sourcing script
ROOT=$(cd "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../.." && pwd)
RIDESHARE=$ROOT/rideshare
# shellcheck source=scripts/stack/lib.sh
source "$ROOT/scripts/stack/lib.sh"
# shellcheck source=scripts/stack/servers.sh
source "$ROOT/scripts/stack/servers.sh"
: "${RIDESHARE_STACK_DIR:?run me under tests/with-stack.sh}"
S=$RIDESHARE_STACK_DIR
fails=0

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}
