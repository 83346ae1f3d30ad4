# shellcheck shell=bash
# The one way every script of the tree talks to its user (./rideshare,
# tests/with-stack.sh, compose/, bench/, tests/fresh/): "<prefix>: message".
# RS_SAY_PREFIX names the script (default "rideshare"); rs_say writes to
# stdout unless RS_SAY_FD=2 (scripts whose stdout is data). Only commands
# exit: rs_die is for the top level of a command, helpers return.

rs_say() { printf '%s: %s\n' "${RS_SAY_PREFIX:-rideshare}" "$*" >&"${RS_SAY_FD:-1}"; }
rs_warn() { printf '%s: warning: %s\n' "${RS_SAY_PREFIX:-rideshare}" "$*" >&2; }
rs_err() { printf '%s: error: %s\n' "${RS_SAY_PREFIX:-rideshare}" "$*" >&2; }
rs_die() {
	rs_err "$@"
	exit 1
}
