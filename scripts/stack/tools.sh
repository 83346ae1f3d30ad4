# shellcheck shell=bash
# Debugging helpers aimed at a running stack (the one in $RIDESHARE_STACK_DIR):
# `./rideshare psql | rabbitmqctl | zkcli | logs`.

# Config of the stack as it was started (stack.env), else from the env.
rs_tools_load() {
	rs_config_paths
	rs_stack_env_load || rs_config_ports
}

# psql as user postgres on the stack's server (add e.g. -d rideshare_<worker id>).
cmd_psql() {
	rs_tools_load
	PGPASSFILE=$(rs_secrets_dir)/pgpass exec psql -h 127.0.0.1 -p "$RS_PG_PORT" -U postgres "$@"
}

# rabbitmqctl against the stack's private node (list_queues, list_consumers ...).
cmd_rabbitmqctl() {
	rs_tools_load
	rs_rabbitmq_env
	exec env "${RS_RABBIT_ENV[@]}" "$RS_RABBIT_BIN/rabbitmqctl" -n "$RS_RABBIT_NODE" "$@"
}

# ZooKeeper's CLI on the stack's server (e.g. `ls /rideshare/workers`). Our
# nodes carry a digest ACL: reading them needs `addauth digest <the line in
# secrets/zk_auth>` first.
cmd_zkcli() {
	rs_tools_load
	rs_say "nodes under /rideshare need: addauth digest \$(cat $(rs_secrets_dir)/zk_auth)" >&2
	exec /usr/share/zookeeper/bin/zkCli.sh -server "127.0.0.1:$RS_ZK_PORT" "$@"
}

# `logs`: the stack's log files; `logs NAME`: follow NAME's logs.
cmd_logs() {
	rs_tools_load
	[[ -d $RS_LOG_DIR ]] || rs_die "no logs at $RS_LOG_DIR"
	if (($# == 0)); then
		ls -l -- "$RS_LOG_DIR"
		return 0
	fi
	local files=() f
	if [[ -n ${RS_COMPONENT_PORTVAR[$1]-} ]]; then
		for f in $(rs_component_logs "$1"); do
			[[ -e $f ]] && files+=("$f")
		done
	elif [[ -e $RS_LOG_DIR/$1 ]]; then
		files=("$RS_LOG_DIR/$1")
	fi
	((${#files[@]})) || rs_die "no logs of '$1' in $RS_LOG_DIR (components: ${RS_COMPONENTS[*]})"
	exec tail -n 50 -F -- "${files[@]}"
}
