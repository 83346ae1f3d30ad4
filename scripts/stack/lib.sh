# shellcheck shell=bash
# Helpers shared by every part of ./rideshare: messages, clocks, processes, ports.
# Sourced by ./rideshare and tests/with-stack.sh; defines functions only.

# shellcheck source=scripts/lib/say.sh
source "${BASH_SOURCE[0]%/*}/../lib/say.sh"

# Milliseconds since the epoch, without forking date(1).
rs_now_ms() {
	local t=${EPOCHREALTIME//[!0-9]/}
	printf '%s' "$((10#$t / 1000))"
}

# "1234" (ms) -> "1.23 s"
rs_fmt_ms() {
	printf '%d.%02d s' "$(($1 / 1000))" "$(($1 % 1000 / 10))"
}

# Prints the last lines of each existing file, framed, on stderr: used whenever a
# server fails so the reason is on screen, not only in the stack dir.
rs_log_tail() {
	local f
	for f in "$@"; do
		[[ -s $f ]] || continue
		printf -- '----- last lines of %s -----\n' "$f" >&2
		tail -n "${RS_TAIL_LINES:-30}" -- "$f" >&2 || true
		printf -- '-----\n' >&2
	done
}

# ---------------------------------------------------------------- processes

# Prints the first line of FILE (which may lack a final newline, like
# RabbitMQ's pid file); fails when FILE is missing or empty.
rs_first_line() {
	local line=
	{ IFS= read -r line <"$1" || [[ -n $line ]]; } 2>/dev/null || return 1
	[[ -n $line ]] || return 1
	printf '%s' "$line"
}

# Prints the one-letter state of PID (R, S, D, Z, ...); fails if there is none.
rs_proc_state() {
	local line
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	line=${line##*) }
	[[ -n $line ]] || return 1
	printf '%s' "${line%% *}"
}

# True when PID exists and is not a zombie. PID 1 on this kind of machine does
# not reap orphans, so a stopped server can linger as a zombie: that is dead.
rs_alive() {
	local s
	[[ $1 =~ ^[0-9]+$ ]] || return 1
	s=$(rs_proc_state "$1") || return 1
	[[ $s != Z && $s != X && $s != x ]]
}

# Prints the kernel's command name of PID (at most 15 characters).
rs_comm() {
	local c
	{ read -r c <"/proc/$1/comm"; } 2>/dev/null || return 1
	printf '%s' "$c"
}

# rs_wait_dead TIMEOUT_MS PID...: true once every PID is dead, false at the deadline.
rs_wait_dead() {
	local deadline=$(($(rs_now_ms) + $1)) p left
	shift
	while :; do
		left=0
		for p in "$@"; do
			if rs_alive "$p"; then
				left=1
				break
			fi
		done
		((left)) || return 0
		(($(rs_now_ms) < deadline)) || return 1
		sleep 0.05
	done
}

# rs_terminate LABEL "SIG:MS SIG:MS ..." PID...: sends each signal in turn to the
# PIDs still alive and waits up to MS for them to go; true when all are gone.
rs_terminate() {
	local label=$1 plan=$2 step sig ms p
	shift 2
	local pids=()
	for p in "$@"; do
		rs_alive "$p" && pids+=("$p")
	done
	((${#pids[@]})) || return 0
	for step in $plan; do
		sig=${step%%:*}
		ms=${step#*:}
		kill -s "$sig" "${pids[@]}" 2>/dev/null || true
		rs_wait_dead "$ms" "${pids[@]}" && return 0
		rs_warn "$label (pid ${pids[*]}) still running ${ms} ms after SIG$sig"
	done
	return 1
}

# Prints this shell's pid and the pids of all its ancestors, one per line:
# never signal those, whatever their environment says.
rs_self_and_ancestors() {
	local pid=$BASHPID line ppid
	while [[ $pid =~ ^[0-9]+$ ]] && ((pid > 1)); do
		printf '%s\n' "$pid"
		{ read -r line <"/proc/$pid/stat"; } 2>/dev/null || break
		line=${line##*) }
		read -r _ ppid _ <<<"$line"
		pid=$ppid
	done
	printf '%s\n' "$$"
}

# ---------------------------------------------------------------- ports

# True when $1 is a decimal TCP port 1..65535.
rs_valid_port() {
	[[ $1 =~ ^[0-9]{1,5}$ ]] && ((10#$1 >= 1 && 10#$1 <= 65535))
}

# Prints every TCP port something listens on (any address), one per line.
rs_listening_ports() {
	ss -Hltn 2>/dev/null | awk '{ n = split($4, a, ":"); print a[n] }' | sort -un
}

# Prints the ss line(s) of whoever listens on PORT (with process when visible).
rs_port_owner() {
	ss -Hltnp "sport = :$1" 2>/dev/null || true
}

# True when a TCP connection to 127.0.0.1:PORT is accepted.
rs_tcp_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints the HTTP status of GET URL (000 when nothing answers). Never uses a proxy.
rs_http_code() {
	curl --noproxy '*' -s -o /dev/null -m "${2:-2}" -w '%{http_code}' "$1" 2>/dev/null || true
}

# ---------------------------------------------------------------- locking

# Takes the stack dir's lock on fd 9 (waits up to $1 s; 0 = do not wait).
# Children get `9>&-`, so the lock never outlives this script.
rs_lock() {
	local wait_s=${1:-0}
	if [[ ! -e /proc/$$/fd/9 ]]; then
		exec 9>>"$RS_STACK_DIR/.lock"
	fi
	if ((wait_s > 0)); then
		flock -w "$wait_s" 9
	else
		flock -n 9
	fi
}

rs_unlock() {
	if [[ -e /proc/$$/fd/9 ]]; then
		flock -u 9 || true
		exec 9>&-
	fi
}
