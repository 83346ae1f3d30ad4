# shellcheck shell=bash
# The four servers of a local stack as private processes bound to 127.0.0.1:
# PostgreSQL 15, RabbitMQ 3.10 (with its own epmd), ZooKeeper 3.8 and nginx.
# Facts these functions rely on are in shared/notes/local-servers.md.
#
# Each component NAME has: rs_NAME_prepare (files, idempotent), rs_NAME_start
# (spawn), rs_NAME_ready (one readiness probe), rs_NAME_health (one line for
# `status`). Pids are recorded in <stack>/pids/NAME.pid by rs_spawn.

RS_PG_BIN=/usr/lib/postgresql/15/bin
RS_RABBIT_BIN=/usr/lib/rabbitmq/bin
RS_ZK_CLASSPATH=/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar
RS_PG_SYSTEM_USER=rideshare

# rs_spawn NAME LOG CWD [VAR=VALUE...] -- CMD...
# Starts CMD in a session of its own (Ctrl-C on the terminal reaches only
# ./rideshare, which then stops everything in order), stdin from /dev/null,
# stdout+stderr appended to LOG, the stack's marker in its environment (so
# `down` can find every process of this stack, workers included), and records
# its pid. env and setsid exec in place, so $! is the server's own pid.
rs_spawn() {
	local name=$1 log=$2 cwd=$3
	shift 3
	local envs=()
	while (($#)) && [[ $1 != -- ]]; do
		envs+=("$1")
		shift
	done
	shift
	env -C "$cwd" RIDESHARE_STACK_DIR="$RS_STACK_DIR" RIDESHARE_STACK_MEMBER="$RS_STACK_DIR" \
		"${envs[@]}" setsid "$@" </dev/null >>"$log" 2>&1 9>&- &
	RS_SPAWNED_PID=$!
	printf '%s\n' "$RS_SPAWNED_PID" >"$RS_PID_DIR/$name.pid"
}

# Prints the pid recorded for NAME (nothing if none).
rs_pidfile_read() {
	local pid
	pid=$(rs_first_line "$RS_PID_DIR/$1.pid") || return 1
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	printf '%s' "$pid"
}

# Command name each component runs as (kernel comm, 15 characters at most).
declare -A RS_COMM=(
	[postgres]=postgres [epmd]=epmd [rabbitmq]=beam.smp [rabbitmq-server]=rabbitmq-server
	[zookeeper]=java [nginx]=nginx
	[orchestrator]=rideshare-orche [users]=rideshare-users [rides]=rideshare-rides
)

# Prints the pid of NAME when it is alive and still the process we started
# (guards against a recycled pid); fails otherwise.
rs_component_pid() {
	local name=$1 pid comm
	pid=$(rs_pidfile_read "$name") || return 1
	rs_alive "$pid" || return 1
	comm=$(rs_comm "$pid") || return 1
	case $comm in
	"${RS_COMM[$name]}" | env | setsid | setpriv) printf '%s' "$pid" ;;
	# a restarted node is recorded by its wrapper until beam is up (supervisor.sh)
	rabbitmq-server) [[ $name == rabbitmq ]] && printf '%s' "$pid" ;;
	*) return 1 ;;
	esac
}

# ---------------------------------------------------------------- secrets

# One random password per server and stack, kept across `down`/`up` (the
# servers' data expects them), written 0600 into a 0700 directory, and the
# files clients read: amqp_url, zk_auth, pgpass (derived from the current
# ports at every `up`). docs/security.md says how to rotate them.
rs_secrets_prepare() {
	local d name
	d=$(rs_secrets_dir)
	(umask 077 && mkdir -p -- "$d")
	chmod 0700 "$d"
	for name in amqp_password pg_password zk_password; do
		if [[ ! -s $d/$name ]]; then
			(umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/$name")
		fi
	done
	(
		umask 077
		printf 'amqp://rideshare:%s@127.0.0.1:%s\n' "$(<"$d/amqp_password")" "$RS_AMQP_PORT" >"$d/amqp_url"
		printf 'rideshare:%s\n' "$(<"$d/zk_password")" >"$d/zk_auth"
		printf '127.0.0.1:%s:*:postgres:%s\n' "$RS_PG_PORT" "$(<"$d/pg_password")" >"$d/pgpass"
	)
}

# ---------------------------------------------------------------- PostgreSQL

# Creates the unprivileged system user PostgreSQL runs as when we are root
# (initdb and postgres refuse root). Retries: parallel stacks may race here.
rs_ensure_system_user() {
	local user=$1 _
	for _ in 1 2 3 4 5 6 7 8 9 10; do
		id -u "$user" >/dev/null 2>&1 && return 0
		useradd --system --user-group --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin "$user" 2>/dev/null && return 0
		sleep 0.2
	done
	id -u "$user" >/dev/null 2>&1 || rs_die "could not create the system user '$user' (useradd failed)"
}

# Prefix that runs a command as the PostgreSQL user (exec, no extra process).
rs_pg_exec_prefix() {
	RS_PG_PREFIX=()
	if ((EUID == 0)); then
		RS_PG_PREFIX=(setpriv --reuid="$RS_PG_USER" --regid="$RS_PG_USER" --init-groups --)
	fi
}

# Chooses and prepares the data dir, runs initdb when it is empty, clears a
# stale postmaster.pid. Sets RS_PG_USER and RS_PG_DATA.
rs_postgres_prepare() {
	local link=$RS_STACK_DIR/pg
	if ((EUID == 0)); then
		RS_PG_USER=$RS_PG_SYSTEM_USER
		rs_ensure_system_user "$RS_PG_USER"
		rs_pg_exec_prefix
		if [[ -L $link ]] || ! "${RS_PG_PREFIX[@]}" test -x "$RS_STACK_DIR" 2>/dev/null; then
			# The stack dir sits where the PostgreSQL user cannot go (e.g.
			# under /root): keep the data in /tmp, linked from the stack dir.
			rs_pg_data_outside "$link"
		else
			mkdir -p -- "$link"
			chown "$RS_PG_USER:" "$link"
			chmod 0700 "$link"
			RS_PG_DATA=$link
		fi
	else
		RS_PG_USER=$(id -un)
		rs_pg_exec_prefix
		mkdir -p -- "$link"
		chmod 0700 "$link"
		RS_PG_DATA=$(realpath -- "$link")
	fi

	if [[ ! -f $RS_PG_DATA/PG_VERSION ]]; then
		if [[ -n $(ls -A -- "$RS_PG_DATA") ]]; then
			rs_die "postgres: $RS_PG_DATA is not empty but holds no cluster; remove it or run ./rideshare down --purge"
		fi
		# A durable cluster starts from files on disk (the sync costs
		# nothing measurable next to initdb itself).
		local nosync=()
		if ((RS_THROWAWAY)); then nosync=(--no-sync); fi
		# scram-sha-256 for every connection (docs/security.md): the
		# password comes from the stack's secrets, never "trust".
		# initdb runs as the PostgreSQL user, who cannot enter the
		# secrets dir: it reads a private copy that lives only as long
		# as initdb runs.
		local pwcopy rc=0
		pwcopy=$(mktemp /tmp/rideshare-pgpw.XXXXXX)
		cp -- "$(rs_secrets_dir)/pg_password" "$pwcopy"
		[[ $RS_PG_USER == "$(id -un)" ]] || chown "$RS_PG_USER:" "$pwcopy"
		env -C / "${RS_PG_PREFIX[@]}" "$RS_PG_BIN/initdb" -D "$RS_PG_DATA" -U postgres \
			--pwfile="$pwcopy" -A scram-sha-256 -E UTF8 --locale=C.UTF-8 "${nosync[@]}" >"$RS_LOG_DIR/initdb.log" 2>&1 || rc=$?
		rm -f -- "$pwcopy"
		if ((rc != 0)); then
			rs_log_tail "$RS_LOG_DIR/initdb.log"
			rs_die "postgres: initdb failed"
		fi
	fi

	local pid
	if pid=$(rs_first_line "$RS_PG_DATA/postmaster.pid"); then
		if rs_alive "$pid" && [[ $(rs_comm "$pid") == postgres ]]; then
			rs_die "postgres: a server (pid $pid) already runs on $RS_PG_DATA"
		fi
		rm -f -- "$RS_PG_DATA/postmaster.pid"
	fi
}

# Data dir under /tmp, private to the PostgreSQL user, named after the stack
# dir so parallel stacks never share one.
rs_pg_data_outside() {
	local link=$1 data owner
	if [[ -L $link ]]; then
		data=$(readlink -- "$link")
	else
		data=/tmp/rideshare-pg-$RS_STACK_ID
	fi
	[[ $data == /tmp/rideshare-pg-* ]] || rs_die "postgres: $link points to $data, not to /tmp/rideshare-pg-*"
	[[ ! -L $data ]] || rs_die "postgres: $data is a symlink; remove it"
	mkdir -p -- "$data"
	owner=$(stat -c %U -- "$data")
	[[ $owner == "$RS_PG_USER" || $owner == root ]] ||
		rs_die "postgres: $data belongs to '$owner'; remove it"
	chown "$RS_PG_USER:" "$data"
	chmod 0700 "$data"
	ln -sfn -- "$data" "$link"
	RS_PG_DATA=$data
}

rs_postgres_start() {
	local args=(
		-D "$RS_PG_DATA" -p "$RS_PG_PORT"
		-c listen_addresses=127.0.0.1 -c unix_socket_directories=
		-c max_connections=200 -c cluster_name="rideshare-$RS_STACK_ID"
	)
	# Durable by default (PostgreSQL's own fsync, synchronous_commit and
	# full_page_writes): a database is the system's memory. RIDESHARE_THROWAWAY=1
	# trades that for speed (rs_config_durability).
	if ((RS_THROWAWAY)); then
		args+=(-c fsync=off -c synchronous_commit=off -c full_page_writes=off)
	fi
	rs_pg_exec_prefix
	rs_spawn postgres "$RS_LOG_DIR/postgres.log" / -- \
		"${RS_PG_PREFIX[@]}" "$RS_PG_BIN/postgres" "${args[@]}"
}

# (pg_isready exits 1, 2 or 3 when not ready; a probe's 2 means "give up".)
rs_postgres_ready() {
	"$RS_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$RS_PG_PORT" -U postgres -d postgres -t 1 || return 1
}

rs_postgres_health() {
	if rs_postgres_ready; then echo "accepting connections"; else echo "NOT ready (pg_isready)"; fi
}

# Every pid of the server: recorded one and the data dir's postmaster.pid.
rs_postgres_pids() {
	local pid
	pid=$(rs_pidfile_read postgres) && printf '%s\n' "$pid"
	if [[ -n ${RS_PG_DATA-} ]] && pid=$(rs_first_line "$RS_PG_DATA/postmaster.pid"); then
		[[ $(rs_comm "$pid") == postgres ]] && printf '%s\n' "$pid"
	fi
	return 0
}

# ---------------------------------------------------------------- epmd

rs_epmd_start() {
	rs_spawn epmd "$RS_LOG_DIR/epmd.log" "$RS_STACK_DIR" -- \
		epmd -port "$RS_EPMD_PORT" -address 127.0.0.1
}

# A real query (a bare TCP probe makes epmd log "partial packet").
rs_epmd_ready() { epmd -port "$RS_EPMD_PORT" -names >/dev/null 2>&1; }

rs_epmd_health() {
	if rs_epmd_ready; then echo "listening"; else echo "NOT listening"; fi
}

# ---------------------------------------------------------------- RabbitMQ

# The environment of the private node, for the server and for rabbitmqctl.
rs_rabbitmq_env() {
	local d=$RS_STACK_DIR/rabbitmq
	RS_RABBIT_DIR=$d
	RS_RABBIT_PIDFILE=$d/mnesia/$RS_RABBIT_NODE.pid
	RS_RABBIT_ENV=(
		"HOME=$d/home"
		"RABBITMQ_NODENAME=$RS_RABBIT_NODE"
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1"
		"RABBITMQ_NODE_PORT=$RS_AMQP_PORT"
		"RABBITMQ_DIST_PORT=$RS_AMQP_DIST_PORT"
		"RABBITMQ_MNESIA_BASE=$d/mnesia"
		"RABBITMQ_LOG_BASE=$RS_LOG_DIR"
		"RABBITMQ_LOGS=$RS_LOG_DIR/rabbitmq.log"
		"RABBITMQ_CONFIG_FILE=$d/rabbitmq.conf"
		"RABBITMQ_CONFIG_FILES=$d/conf.d"
		"RABBITMQ_ADVANCED_CONFIG_FILE=$d/advanced.config"
		"RABBITMQ_ENABLED_PLUGINS_FILE=$d/enabled_plugins"
		"RABBITMQ_CONF_ENV_FILE=$d/rabbitmq-env.conf"
		"ERL_EPMD_PORT=$RS_EPMD_PORT"
		"ERL_EPMD_ADDRESS=127.0.0.1"
		"ERL_INETRC=$d/erl_inetrc"
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false"
		"RABBITMQ_CTL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1} -start_epmd false"
	)
}

rs_rabbitmq_prepare() {
	rs_rabbitmq_env
	local d=$RS_RABBIT_DIR
	mkdir -p -- "$d/home" "$d/mnesia" "$d/conf.d"
	chmod 0700 "$d/home"
	# The cookie exists before server and CLI start, so they cannot race to
	# create two different ones.
	if [[ ! -s $d/home/.erlang.cookie ]]; then
		(umask 077 && head -c 20 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$d/home/.erlang.cookie")
		chmod 0400 "$d/home/.erlang.cookie"
	fi
	printf '[].\n' >"$d/enabled_plugins"
	# Resolve names (localhost) in Erlang itself: no inet_gethost helper
	# processes, which would outlive the node as orphans.
	printf '{lookup, [file, dns]}.\n' >"$d/erl_inetrc"
	printf '# private to this stack, so /etc/rabbitmq/rabbitmq-env.conf is not read\n' >"$d/rabbitmq-env.conf"
	cat >"$d/rabbitmq.conf" <<EOF
# RabbitMQ config of a RideShare local stack, written by ./rideshare up.
# No guest: a fresh node creates only this stack's own user (its password is
# in the stack's secrets/); heartbeats default.
listeners.tcp.default = 127.0.0.1:$RS_AMQP_PORT
default_user = rideshare
default_pass = $(<"$(rs_secrets_dir)/amqp_password")
default_permissions.configure = .*
default_permissions.read = .*
default_permissions.write = .*
default_user_tags.administrator = true
EOF
}

rs_rabbitmq_start() {
	rs_rabbitmq_env
	rs_spawn rabbitmq-server "$RS_LOG_DIR/rabbitmq-server.out" "$RS_STACK_DIR" \
		"${RS_RABBIT_ENV[@]}" -- "$RS_RABBIT_BIN/rabbitmq-server"
}

# Starts `rabbitmqctl wait` in the background (each rabbitmqctl call boots an
# Erlang VM: ~1 s); rs_rabbitmq_wait_done collects it.
rs_rabbitmq_wait_begin() {
	rs_rabbitmq_env
	env -C "$RS_STACK_DIR" RIDESHARE_STACK_MEMBER="$RS_STACK_DIR" "${RS_RABBIT_ENV[@]}" \
		"$RS_RABBIT_BIN/rabbitmqctl" -n "$RS_RABBIT_NODE" wait --timeout "$1" "$RS_RABBIT_PIDFILE" \
		</dev/null >"$RS_LOG_DIR/rabbitmq-wait.log" 2>&1 9>&- &
	RS_RABBIT_WAIT_PID=$!
}

# One probe: true once `rabbitmqctl wait` has succeeded; exits the probe loop
# with failure (status 2) when it has given up.
rs_rabbitmq_ready() {
	rs_alive "$RS_RABBIT_WAIT_PID" && return 1
	local rc=0
	wait "$RS_RABBIT_WAIT_PID" || rc=$?
	RS_RABBIT_WAIT_PID=
	if ((rc != 0)); then
		rs_log_tail "$RS_LOG_DIR/rabbitmq-wait.log"
		return 2
	fi
	local pid
	pid=$(rs_first_line "$RS_RABBIT_PIDFILE") || return 2
	printf '%s\n' "$pid" >"$RS_PID_DIR/rabbitmq.pid"
	return 0
}

# True when the AMQP listener answers a protocol header with a frame.
rs_amqp_ping() (
	local b=
	exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	printf 'AMQP\x00\x00\x09\x01' >&3
	IFS= read -r -t 2 -N 1 -u 3 b || exit 1
	[[ $b == $'\x01' ]]
) 2>/dev/null

rs_rabbitmq_health() {
	if rs_amqp_ping "$RS_AMQP_PORT"; then echo "AMQP handshake ok"; else echo "NOT answering AMQP"; fi
}

# Beam and the rabbitmq-server wrapper shell that waits on it.
rs_rabbitmq_pids() {
	local pid
	rs_rabbitmq_env
	pid=$(rs_pidfile_read rabbitmq) && printf '%s\n' "$pid"
	pid=$(rs_pidfile_read rabbitmq-server) && printf '%s\n' "$pid"
	if pid=$(rs_first_line "$RS_RABBIT_PIDFILE") && [[ $(rs_comm "$pid") == beam.smp ]]; then
		printf '%s\n' "$pid"
	fi
	return 0
}

# ---------------------------------------------------------------- ZooKeeper

rs_zookeeper_prepare() {
	local d=$RS_STACK_DIR/zk force_sync=yes
	if ((RS_THROWAWAY)); then force_sync=no; fi
	mkdir -p -- "$d/data" "$d/conf"
	cat >"$d/zoo.cfg" <<EOF
# ZooKeeper config of a RideShare local stack, written by ./rideshare up.
# Short ticks so sessions can be short (RIDESHARE_ZK_SESSION_MS, default 800).
tickTime=200
minSessionTimeout=400
maxSessionTimeout=20000
dataDir=$d/data
clientPort=$RS_ZK_PORT
clientPortAddress=127.0.0.1
# Every client comes from 127.0.0.1: no per-address connection cap.
maxClientCnxns=0
# Jetty's admin server would take port 8080.
admin.enableServer=false
4lw.commands.whitelist=ruok,stat,srvr,mntr,cons
# The znodes hold the cluster's recorded history: fsync the transaction log
# (forceSync=no only with RIDESHARE_THROWAWAY=1).
forceSync=$force_sync
autopurge.snapRetainCount=3
autopurge.purgeInterval=1
EOF
	cat >"$d/conf/log4j.properties" <<EOF
log4j.rootLogger=INFO, FILE
log4j.appender.FILE=org.apache.log4j.FileAppender
log4j.appender.FILE.File=$RS_LOG_DIR/zookeeper.log
log4j.appender.FILE.Append=true
log4j.appender.FILE.layout=org.apache.log4j.PatternLayout
log4j.appender.FILE.layout.ConversionPattern=%d{ISO8601} %-5p [%t:%C{1}@%L] - %m%n
EOF
}

rs_zookeeper_start() {
	local d=$RS_STACK_DIR/zk
	rs_spawn zookeeper "$RS_LOG_DIR/zookeeper.out" "$RS_STACK_DIR" -- \
		java -Xmx256m -Xms32m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -XX:-UsePerfData \
		-Djava.net.preferIPv4Stack=true \
		-Dzookeeper.log.dir="$RS_LOG_DIR" \
		-Dlog4j.configuration="file:$d/conf/log4j.properties" \
		-cp "$RS_ZK_CLASSPATH:$d/conf" \
		org.apache.zookeeper.server.ZooKeeperServerMain "$d/zoo.cfg"
}

# ZooKeeper's four-letter word: `ruok` -> `imok`.
rs_zk_ruok() (
	local ans=
	exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1
	printf 'ruok' >&3
	read -r -t 1 -N 4 -u 3 ans || true
	[[ $ans == imok ]]
) 2>/dev/null

rs_zookeeper_ready() { rs_zk_ruok "$RS_ZK_PORT"; }

rs_zookeeper_health() {
	if rs_zookeeper_ready; then echo "imok"; else echo "NOT answering ruok"; fi
}

# ---------------------------------------------------------------- nginx

# Renders scripts/stack/nginx.conf.in into <stack>/nginx/nginx.conf.
rs_nginx_prepare() {
	local d=$RS_STACK_DIR/nginx conf
	mkdir -p -- "$d/tmp"
	conf=$(<"$RS_ROOT/scripts/stack/nginx.conf.in")
	conf=${conf//@NGINX_DIR@/"$d"}
	conf=${conf//@LOG_DIR@/"$RS_LOG_DIR"}
	conf=${conf//@EDGE_PORT@/"$RS_EDGE_PORT"}
	conf=${conf//@USERS_PORT@/"$RS_USERS_PORT"}
	conf=${conf//@RIDES_PORT@/"$RS_RIDES_PORT"}
	printf '%s\n' "$conf" >"$d/nginx.conf"
}

rs_nginx_start() {
	local d=$RS_STACK_DIR/nginx
	rs_spawn nginx "$RS_LOG_DIR/nginx.out" "$RS_STACK_DIR" -- \
		nginx -p "$d/" -c "$d/nginx.conf" -e "$RS_LOG_DIR/nginx-error.log"
}

rs_nginx_ready() { rs_tcp_open "$RS_EDGE_PORT"; }

rs_nginx_health() {
	local code
	# /healthz goes through to the rides service and is not counted in _count.
	code=$(rs_http_code "http://127.0.0.1:$RS_EDGE_PORT/healthz")
	if [[ $code == 000 ]]; then echo "NOT answering HTTP"; else echo "answering (GET /healthz -> $code)"; fi
}
