#!/usr/bin/env bash
# compose/swarm.sh — RideShare-C on Docker Swarm (compose/stack.yml).
# `./rideshare swarm <cmd> ...` delegates here. docs/swarm.md has the details.
#
#   up        images (compose/compose.sh images: the same images as compose, no
#             registry), secrets, the swarm (initialised here when this daemon
#             is in none: a single-node swarm on 127.0.0.1), then the stack in
#             two steps: the infrastructure (PostgreSQL, 3 RabbitMQ nodes
#             clustered, 3 ZooKeeper servers in quorum) and, once it is healthy,
#             the RideShare services; waits until everything is healthy and the
#             edge answers; prints the times taken.
#   down [--volumes]
#             docker stack rm, the orchestrator's worker services, wait until no
#             container of the stack is left; leaves the swarm only if `up`
#             initialised it. The data volumes stay unless --volumes (which also
#             deletes the secrets). Keeping them, it first stops the writers and
#             waits until every worker's copy is at the same position, and
#             records those workers' volumes: the next `up` takes them over
#             and recovers from them (docs/swarm.md).
#   status    services of the stack, worker services, tasks
#   test [ARGS]  up, the public-API suite (tests/api) and tests/swarm/ against the
#             swarm edge, down --volumes. Prints `SKIPPED: <reason>` and exits
#             $RIDESHARE_SKIP_RC (default 0) when no Docker daemon answers or
#             the images cannot be made.
#
# Environment: RIDESHARE_SWARM_STACK (default rsw), RIDESHARE_SWARM_{EDGE,USERS,
# RIDES,ADMIN}_PORT (8980, 8981, 8982, 8990: published in host mode on every
# address of the node), RIDESHARE_SWARM_SKIP_IMAGES=1 (use the images as they
# are), RIDESHARE_SWARM_UP_TIMEOUT (300 s), RIDESHARE_SWARM_KEEP=1 (test: leave
# the stack up), RIDESHARE_SWARM_ADVERTISE (swarm init address, 127.0.0.1),
# RIDESHARE_SWARM_WORKER_PG=own (default: each worker runs its own PostgreSQL
# server on its own volume, image rideshare/worker-pg) or shared (every worker's
# database on the postgres service).
# shellcheck disable=SC2086  # id lists are word-split on purpose
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STACK=${RIDESHARE_SWARM_STACK:-rsw}
export RIDESHARE_SWARM_STACK=$STACK
SECRETS=${RIDESHARE_SWARM_SECRETS:-$HERE/.secrets/swarm-$STACK}
export RIDESHARE_SWARM_SECRETS=$SECRETS
# Written when `up` initialised the swarm: `down` leaves it only then.
INIT_MARK=$HERE/.secrets/swarm-$STACK.initialised
# Written by `down` (volumes kept): the last workers' volumes, whose copies
# it levelled; `up` has the spawner take them over first (docs/swarm.md).
VOLUMES_FIRST=$HERE/.secrets/swarm-$STACK.volumes
LABEL=org.rideshare.project=rideshare-c
UP_TIMEOUT=${RIDESHARE_SWARM_UP_TIMEOUT:-300}
INFRA=(postgres rabbitmq1 rabbitmq2 rabbitmq3 zookeeper1 zookeeper2 zookeeper3)
APPS=(orchestrator users rides edge)
export RIDESHARE_SWARM_EDGE_PORT=${RIDESHARE_SWARM_EDGE_PORT:-8980}
export RIDESHARE_SWARM_USERS_PORT=${RIDESHARE_SWARM_USERS_PORT:-8981}
export RIDESHARE_SWARM_RIDES_PORT=${RIDESHARE_SWARM_RIDES_PORT:-8982}
export RIDESHARE_SWARM_ADMIN_PORT=${RIDESHARE_SWARM_ADMIN_PORT:-8990}

# Messages: "swarm: ..." on stderr (stdout is for what a command prints),
# the same helpers as every script of the tree.
RS_SAY_PREFIX=swarm RS_SAY_FD=2
# shellcheck source=scripts/lib/say.sh
source "$ROOT/scripts/lib/say.sh"
# shellcheck source=compose/lib.sh
source "$HERE/lib.sh"

# Why the deployment cannot run here (empty when it can).
docker_unavailable() {
	command -v docker >/dev/null 2>&1 || { echo "docker CLI not installed"; return; }
	timeout 20 docker info >/dev/null 2>&1 || { echo "no Docker daemon answers (docker info failed)"; return; }
	if [ "${RIDESHARE_SWARM_SKIP_IMAGES:-0}" = 1 ]; then
		local i
		for i in postgres rabbitmq zookeeper edge users rides orchestrator worker worker-pg; do
			docker image inspect "rideshare/$i:latest" >/dev/null 2>&1 || { echo "image rideshare/$i:latest missing (./rideshare compose images)"; return; }
		done
	elif ! docker image inspect rideshare/base:latest >/dev/null 2>&1; then
		[ "$(id -u)" = 0 ] || { echo "building the images needs root (debootstrap, chroot)"; return; }
		command -v debootstrap >/dev/null 2>&1 || { echo "building the images needs debootstrap"; return; }
	fi
}

# ------------------------------------------------------------------ secrets
# One random password per server and deployment (0600 files in a 0700 dir,
# git-ignored), and the files clients read. They become swarm secrets
# <stack>_<name> (immutable: rotating one means a new name, docs/swarm.md).
ensure_secrets() {
	local d=$SECRETS name pw
	(umask 077 && mkdir -p "$d")
	chmod 0700 "$d"
	for name in amqp_password pg_password zk_password admin_token erlang_cookie; do
		[ -s "$d/$name" ] || (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/$name")
	done
	(
		umask 077
		pw=$(cat "$d/amqp_password")
		# Every node of the broker cluster, in order (rs_mq tries each).
		printf 'amqp://rideshare:%s@rabbitmq1:5672,amqp://rideshare:%s@rabbitmq2:5672,amqp://rideshare:%s@rabbitmq3:5672\n' \
			"$pw" "$pw" "$pw" > "$d/amqp_url"
		printf 'rideshare:%s\n' "$(cat "$d/zk_password")" > "$d/zk_auth"
		printf '*:*:*:postgres:%s\n' "$(cat "$d/pg_password")" > "$d/pgpass"
	)
	chmod 0600 "$d"/*
}

# ------------------------------------------------------------------ swarm
ensure_swarm() {
	local state
	state=$(docker info -f '{{.Swarm.LocalNodeState}}')
	case $state in
		active) [ "$(docker info -f '{{.Swarm.ControlAvailable}}')" = true ] \
			|| rs_die "this daemon is a swarm worker, not a manager: run swarm.sh on a manager"
			if [ -f "$INIT_MARK" ]; then
				docker node update --label-add org.rideshare.node-index=1 "$(docker info -f '{{.Swarm.NodeID}}')" >/dev/null
			fi ;;
		inactive)
			rs_say "no swarm here: docker swarm init (single node, ${RIDESHARE_SWARM_ADVERTISE:-127.0.0.1}); \`down\` leaves it again"
			docker swarm init --advertise-addr "${RIDESHARE_SWARM_ADVERTISE:-127.0.0.1}" \
				--listen-addr "${RIDESHARE_SWARM_ADVERTISE:-127.0.0.1}:2377" >/dev/null
			mkdir -p "$(dirname "$INIT_MARK")"
			date -u +%FT%TZ > "$INIT_MARK"
			# swarm init also creates the docker_gwbridge network, which
			# `swarm leave` keeps: note whether it was ours to remove.
			docker network inspect docker_gwbridge >/dev/null 2>&1 \
				|| echo "created docker_gwbridge" >> "$INIT_MARK"
			# The worker pid rule (docs/swarm.md): node-index * 10^7 + pid.
			docker node update --label-add org.rideshare.node-index=1 "$(docker info -f "{{.Swarm.NodeID}}")" >/dev/null ;;
		*) rs_die "swarm state '$state': wait, or fix it by hand (docker swarm leave --force)" ;;
	esac
}

# Image ids of the stack: tasks whose image is an id never try a registry
# pull (each pull attempt with no registry costs a timeout per task start).
export_images() {
	local i v id
	for i in postgres rabbitmq zookeeper edge users rides orchestrator worker worker-pg; do
		v=RIDESHARE_SWARM_IMG_$(echo "$i" | tr a-z- A-Z_)
		# Already given (the swarm test's own down + up): the same images,
		# whatever rideshare/*:latest points at by now.
		[ -z "${!v:-}" ] || continue
		id=$(docker image inspect -f '{{.Id}}' "rideshare/$i:latest" 2>/dev/null) \
			|| rs_die "no image rideshare/$i:latest (./rideshare compose images)"
		export "$v=$id"
	done
	# Each worker's own PostgreSQL (default), or the shared postgres service.
	case ${RIDESHARE_SWARM_WORKER_PG:-own} in
		own)
			export RIDESHARE_SWARM_IMG_WORKER_SPAWN=$RIDESHARE_SWARM_IMG_WORKER_PG
			export RIDESHARE_SWARM_WORKER_VOLUME=/var/lib/postgresql/data ;;
		shared)
			export RIDESHARE_SWARM_IMG_WORKER_SPAWN=$RIDESHARE_SWARM_IMG_WORKER
			export RIDESHARE_SWARM_WORKER_VOLUME= ;;
		*) rs_die "RIDESHARE_SWARM_WORKER_PG must be own or shared" ;;
	esac
}

deploy() { # APP_REPLICAS
	RIDESHARE_SWARM_APP_REPLICAS=$1 docker stack deploy --resolve-image never --prune \
		-c "$HERE/stack.yml" "$STACK" 2>&1 | grep -v '^Creating\|^Updating\|Ignoring unsupported options' >&2 || true
}

# The local container of service SVC of the stack (single-node waits; on
# several machines `docker service ps` shows where the others run).
container_of() {
	docker ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$1" | head -1
}

# Waits until each named service has a running, healthy task on this node.
wait_healthy() {
	local deadline=$((SECONDS + UP_TIMEOUT)) bad s id st
	while :; do
		bad=""
		for s in "$@"; do
			id=$(container_of "$s")
			if [ -z "$id" ]; then
				bad="$bad $s(no task)"
				continue
			fi
			st=$(docker inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id" 2>/dev/null || echo gone)
			case $st in running/healthy|running/) ;; *) bad="$bad $s($st)" ;; esac
		done
		[ -n "$bad" ] || return 0
		if [ $SECONDS -ge $deadline ]; then
			rs_say "not healthy after $UP_TIMEOUT s:$bad"
			return 1
		fi
		sleep 0.5
	done
}

# Running nodes of the broker cluster, as seen by rabbitmq1.
mq_running_nodes() {
	local id
	id=$(container_of rabbitmq1)
	[ -n "$id" ] || { echo 0; return; }
	docker exec -u rabbitmq -e HOME=/var/lib/rabbitmq "$id" rabbitmqctl -q cluster_status --formatter json 2>/dev/null \
		| python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("running_nodes", [])))' 2>/dev/null || echo 0
}

# ZooKeeper members that serve (in a quorum: leader or follower).
zk_serving() {
	local s id n=0
	for s in zookeeper1 zookeeper2 zookeeper3; do
		id=$(container_of "$s")
		[ -n "$id" ] || continue
		docker exec "$id" sh -c 'printf srvr | nc -w 2 127.0.0.1 2181' 2>/dev/null \
			| grep -q '^Mode: \(leader\|follower\)' && n=$((n + 1))
	done
	echo $n
}

# wait_three PROBE WHAT: until PROBE prints 3 (every member of the
# ensemble), at most UP_TIMEOUT s; then says "WHAT: n of 3" and fails.
wait_three() {
	local deadline=$((SECONDS + UP_TIMEOUT)) n
	while :; do
		n=$("$1")
		[ "$n" != 3 ] || return 0
		[ $SECONDS -lt $deadline ] || { rs_say "$2: $n of 3 after $UP_TIMEOUT s"; return 1; }
		sleep 1
	done
}

wait_zk_quorum() { wait_three zk_serving "ZooKeeper members serving"; }
wait_mq_cluster() { wait_three mq_running_nodes "RabbitMQ cluster nodes running"; }

show_failure() {
	local s id
	docker stack ps --no-trunc "$STACK" --format '{{.Name}} {{.CurrentState}} {{.Error}}' 2>/dev/null | head -30 >&2 || true
	for s in "${INFRA[@]}" "${APPS[@]}"; do
		id=$(container_of "$s")
		[ -n "$id" ] || continue
		case $(docker inspect -f '{{.State.Health.Status}}' "$id" 2>/dev/null) in healthy) continue ;; esac
		rs_say "---- $s (last 20 log lines)"
		docker logs --tail 20 "$id" 2>&1 | sed 's/^/    /' >&2
	done
}

cmd_up() {
	local t0 t1 t2 t_img="0.0"
	t0=$(now)
	if [ "${RIDESHARE_SWARM_SKIP_IMAGES:-0}" != 1 ]; then
		"$HERE/compose.sh" images
		t_img=$(elapsed "$t0")
	fi
	export_images
	ensure_secrets
	ensure_swarm
	RIDESHARE_SWARM_WORKER_VOLUMES_FIRST=$(paste -sd, "$VOLUMES_FIRST" 2>/dev/null || true)
	export RIDESHARE_SWARM_WORKER_VOLUMES_FIRST
	t1=$(now)
	rs_say "deploying stack $STACK: infrastructure"
	deploy 0
	if ! wait_healthy "${INFRA[@]}" || ! wait_zk_quorum || ! wait_mq_cluster; then
		show_failure
		rs_die "infrastructure not healthy (inspect, or: swarm.sh down)"
	fi
	rs_say "infrastructure healthy in $(elapsed "$t1") s (RabbitMQ: 3 nodes clustered; ZooKeeper: quorum)"
	t2=$(now)
	deploy 1
	if ! wait_healthy "${APPS[@]}"; then
		show_failure
		rs_die "RideShare services not healthy (inspect, or: swarm.sh down)"
	fi
	# Healthy edge is not yet a serving cluster: wait for the orchestrator's
	# readiness (a master, writes accepted) and a read answered through the
	# edge (a slave caught up).
	local deadline=$((SECONDS + 120)) code
	until curl -fsS -o /dev/null "http://127.0.0.1:$RIDESHARE_SWARM_ADMIN_PORT/readyz" 2>/dev/null \
		&& code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$RIDESHARE_SWARM_EDGE_PORT/api/v1/users" 2>/dev/null) \
		&& { [ "$code" = 200 ] || [ "$code" = 204 ]; }; do
		[ $SECONDS -lt $deadline ] || rs_die "no read answered through the edge (GET /api/v1/users: ${code:-none}) after 120 s"
		sleep 0.5
	done
	rs_say "healthy: images $t_img s + infrastructure $(awk -v a="$t1" -v b="$t2" 'BEGIN{printf "%.1f", b-a}') s + services $(elapsed "$t2") s = total $(elapsed "$t0") s"
	rs_say "edge http://127.0.0.1:$RIDESHARE_SWARM_EDGE_PORT  users :$RIDESHARE_SWARM_USERS_PORT  rides :$RIDESHARE_SWARM_RIDES_PORT  admin :$RIDESHARE_SWARM_ADMIN_PORT  (admin token: $SECRETS/admin_token)"
}

# ------------------------------------------------------------------ down
worker_services() {
	docker service ls --filter "label=$LABEL" --format '{{.ID}} {{.Name}}' 2>/dev/null \
		| awk -v p="$STACK-worker-" 'index($2, p) == 1 { print $1 }'
}

# The workers' own volumes (worker-pg: <stack>-worker-<id>-data).
worker_volumes() {
	docker volume ls -q --filter "label=$LABEL" | awk -v p="$STACK-worker-" 'index($1, p) == 1'
}

stack_containers() {
	{
		docker ps -aq --filter "label=com.docker.stack.namespace=$STACK"
		docker ps -a --filter "label=$LABEL" --format '{{.ID}} {{.Names}}' | awk -v p="$STACK-worker-" 'index($2, p) == 1 { print $1 }'
	} | sort -u
}

# "epoch seq" of each worker's own copy (worker-pg: psql in the worker's
# container; workers without a server of their own print nothing).
worker_positions() {
	local id wid db
	for id in $(docker ps -q --filter "label=$LABEL" --filter label=org.rideshare.worker-id); do
		wid=$(docker inspect -f '{{index .Config.Labels "org.rideshare.worker-id"}}' "$id" 2>/dev/null) || continue
		db=rideshare_$(printf '%s' "$wid" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9' '_')
		docker exec -e PGPASSFILE=/run/secrets/pgpass "$id" psql -h 127.0.0.1 -U postgres -d "$db" \
			-tAc "SELECT epoch || ' ' || applied_seq FROM meta" 2>/dev/null || true
	done
}

# Before the workers stop: no more writes (orchestrator, users, rides, edge
# removed), then wait (at most 30 s) until every worker's copy stands at the
# same position, so that every kept volume holds every acknowledged write
# and the next `up` recovers from whichever one its first worker takes over
# (docs/swarm.md "Full-cluster recovery").
quiesce_workers() {
	local s deadline=$((SECONDS + 30)) pos
	for s in orchestrator users rides edge; do
		docker service rm "${STACK}_$s" >/dev/null 2>&1 || true
	done
	while :; do
		pos=$(worker_positions | sort -u)
		[ "$(printf '%s' "$pos" | grep -c .)" -gt 1 ] || return 0
		if [ $SECONDS -ge $deadline ]; then
			rs_say "warning: the workers' copies still differ after 30 s (${pos//$'\n'/, }): the next up may refuse writes until the most advanced copy is back (docs/swarm.md)"
			return 0
		fi
		sleep 0.5
	done
}

cmd_down() {
	local t0 purge=0 arg ids deadline left=""
	t0=$(now)
	for arg; do
		case $arg in
			--volumes|-v|--purge) purge=1 ;;
			*) rs_die "down: unknown argument '$arg' (--volumes)" ;;
		esac
	done
	if [ "$(docker info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = active ]; then
		# The orchestrator first: it would replace the workers removed below.
		# Keeping the data: first every copy at the same position.
		if [ $purge = 1 ]; then
			docker service rm "${STACK}_orchestrator" >/dev/null 2>&1 || true
		else
			quiesce_workers
			# The volumes of these workers come first at the next up.
			ids=$(worker_services)
			[ -z "$ids" ] || docker service inspect -f \
				'{{range .Spec.TaskTemplate.ContainerSpec.Mounts}}{{.Source}}{{"\n"}}{{end}}' $ids \
				| grep . > "$VOLUMES_FIRST" || true
		fi
		ids=$(worker_services)
		[ -z "$ids" ] || { rs_say "removing worker services: ${ids//$'\n'/ }"; docker service rm $ids >/dev/null 2>&1 || true; }
		docker stack rm "$STACK" 2>&1 | grep -v '^Removing\|^Nothing found' >&2 || true
	fi
	# Tasks stop asynchronously; networks go after their containers.
	deadline=$((SECONDS + 90))
	while [ -n "$(stack_containers)" ] || docker network inspect "${STACK}_net" >/dev/null 2>&1; do
		if [ $SECONDS -ge $deadline ]; then
			ids=$(stack_containers)
			[ -z "$ids" ] || docker rm -f $ids >/dev/null 2>&1 || true
			docker network rm "${STACK}_net" >/dev/null 2>&1 || true
			break
		fi
		sleep 0.5
	done
	if [ $purge = 1 ]; then
		ids=$( { docker volume ls -q --filter "label=com.docker.stack.namespace=$STACK"; worker_volumes; } | sort -u)
		[ -z "$ids" ] || { rs_say "deleting volumes (all data): ${ids//$'\n'/ }"; docker volume rm -f $ids >/dev/null || true; }
		rm -rf "$SECRETS"
		rm -f "$VOLUMES_FIRST"
	fi
	if [ -f "$INIT_MARK" ]; then
		rs_say "leaving the swarm this script initialised"
		docker swarm leave --force >/dev/null 2>&1 || true
		if grep -q "^created docker_gwbridge" "$INIT_MARK"; then
			docker network rm docker_gwbridge >/dev/null 2>&1 || true
		fi
		rm -f "$INIT_MARK"
	fi
	ids=$(stack_containers)
	[ -z "$ids" ] || left="$left containers:${ids//$'\n'/ }"
	[ -z "$(worker_services)" ] || left="$left worker-services"
	! docker network inspect "${STACK}_net" >/dev/null 2>&1 || left="$left network:${STACK}_net"
	if [ "$(docker info -f '{{.Swarm.LocalNodeState}}' 2>/dev/null)" = active ]; then
		ids=$(docker secret ls -q --filter "label=com.docker.stack.namespace=$STACK")
		[ -z "$ids" ] || left="$left secrets:${ids//$'\n'/ }"
	fi
	if [ $purge = 1 ]; then
		ids=$( { docker volume ls -q --filter "label=com.docker.stack.namespace=$STACK"; worker_volumes; } | sort -u)
		[ -z "$ids" ] || left="$left volumes:${ids//$'\n'/ }"
	fi
	[ -z "$left" ] || rs_die "left behind:$left"
	if [ $purge = 1 ]; then
		rs_say "down --volumes: nothing of stack $STACK is left ($(elapsed "$t0") s)"
	else
		if [ -n "$(worker_volumes)" ]; then
			rs_say "the workers' own databases stay in their volumes: the next \`up\` takes them over and recovers from them (docs/swarm.md)"
		fi
		rs_say "down: no service, container, network or secret of stack $STACK is left; data kept in volumes $(docker volume ls -q --filter "label=com.docker.stack.namespace=$STACK" | tr '\n' ' ') ($(elapsed "$t0") s)"
	fi
}

cmd_status() {
	if [ "$(docker info -f '{{.Swarm.LocalNodeState}}')" != active ]; then
		echo "no swarm on this daemon"
		return 0
	fi
	docker node ls
	echo
	docker stack services "$STACK" 2>/dev/null || true
	echo
	echo "worker services:"
	docker service ls --filter "label=$LABEL" --format '  {{.Name}} {{.Replicas}} {{.Image}}' | grep " " | awk -v p="  $STACK-worker-" 'index($0, p) == 1' || true
}

# ------------------------------------------------------------------ test
cmd_test() {
	local rc=0 py=/usr/bin/python3
	[ -x "$py" ] || py=python3
	test_up "${RIDESHARE_SWARM_KEEP:-0}"
	export_endpoints "$RIDESHARE_SWARM_EDGE_PORT" "$RIDESHARE_SWARM_USERS_PORT" \
		"$RIDESHARE_SWARM_RIDES_PORT" "$RIDESHARE_SWARM_ADMIN_PORT"
	export RIDESHARE_ADMIN_TOKEN_FILE=$SECRETS/admin_token
	if [ "${RIDESHARE_SWARM_API_TESTS:-}" = none ]; then
		rs_say "public-API suite: not run (RIDESHARE_SWARM_API_TESTS=none)"
	elif ! "$py" -c 'import pytest, requests' 2>/dev/null; then
		rs_say "public-API suite: SKIPPED ($py has no pytest/requests)"
	else
		rs_say "public-API suite against $RIDESHARE_EDGE_URL"
		"$py" -m pytest -q -p no:cacheprovider "$ROOT/tests/api" || rc=$?
	fi
	"$py" "$ROOT/tests/swarm/run_swarm_tests.py" "$@" || rc=$?
	return $rc
}

main() {
	local cmd=${1:-}
	[ $# -eq 0 ] || shift
	case $cmd in
		up) cmd_up "$@" ;;
		down) cmd_down "$@" ;;
		status|ps) cmd_status ;;
		test) cmd_test "$@" ;;
		secrets) ensure_secrets; echo "$SECRETS" ;;
		""|-h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
		*) rs_die "unknown command '$cmd' (up, down, status, test)" ;;
	esac
}

main "$@"
