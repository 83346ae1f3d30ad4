#!/usr/bin/env bash
# compose/compose.sh — the multi-container RideShare-C deployment.
# `./rideshare compose <cmd> ...` delegates here.
#
#   images            build every image (compose/build-images, then docker build of
#                     edge, users, rides, orchestrator, worker from the build dir)
#   up [SERVICE...]   images, then `docker-compose up -d`, wait until every container
#                     is healthy; prints the time taken (including image building).
#                     With only infrastructure services named (postgres rabbitmq
#                     zookeeper) no project binaries are needed.
#   down [--volumes|--purge] [--all]
#                     docker-compose down, then remove the deployment's worker
#                     containers (label org.rideshare.project=rideshare-c and the name
#                     prefix <project>-worker-, or on the project network) and the
#                     project's networks; verify none is left. The DATA IS KEPT: the
#                     volumes <project>_pgdata, _mqdata, _zkdata (every worker's
#                     database lives in pgdata) and the admin token stay for the next
#                     `up`. --volumes (= --purge) also deletes them. --all (or
#                     RIDESHARE_COMPOSE_DOWN_ALL=1): every container and network with
#                     that label, whoever started it (and, with --volumes, volumes)
#   status            containers of the deployment, worker containers, health
#   logs [ARGS...]    docker-compose logs (e.g. `logs -f orchestrator`)
#   test [ARGS...]    up, the public-API suite (tests/api) and tests/compose/ against
#                     the compose edge, down --volumes (ARGS: e.g. -k master_kill). Prints
#                     `SKIPPED: <reason>` and exits 0 (or $RIDESHARE_SKIP_RC) when no
#                     Docker daemon answers.
#   config            the resolved docker-compose.yml
#   token             print the path of the deployment's admin token file
#   dc ARGS...        any other docker-compose command on this project
#
# Every service has `restart: unless-stopped`; `docker-compose stop`/`start` and
# `docker restart` keep the data (named volumes). PostgreSQL and ZooKeeper are
# durable unless RIDESHARE_THROWAWAY=1 (no fsync: fast, not crash-safe).
# The orchestrator gets the deployment's admin token as the file
# /run/secrets/admin_token (RIDESHARE_ADMIN_TOKEN_FILE; a read-only bind mount of
# $RIDESHARE_COMPOSE_STATE_DIR/admin_token, made here with mode 0600, never in
# an image).
#
# Environment: see compose/README.md (RIDESHARE_BUILD_DIR, RIDESHARE_COMPOSE_*,
# RIDESHARE_IMAGE_*, RIDESHARE_SKIP_RC, RIDESHARE_THROWAWAY, ...).
# shellcheck disable=SC2086,SC2116  # id lists are word-split on purpose
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PROJECT=${RIDESHARE_COMPOSE_PROJECT:-rideshare}
export RIDESHARE_COMPOSE_PROJECT=$PROJECT   # docker-compose.yml interpolates it
export RIDESHARE_COMPOSE_NETWORK=${RIDESHARE_COMPOSE_NETWORK:-${PROJECT}_net}
LABEL=org.rideshare.project=rideshare-c
# Per-deployment state kept on the host (not in a volume, not in an image).
STATE_DIR=${RIDESHARE_COMPOSE_STATE_DIR:-$HERE/.secrets/$PROJECT}
case $STATE_DIR in /*) ;; *) STATE_DIR=$PWD/$STATE_DIR ;; esac
export RIDESHARE_COMPOSE_SECRETS=$STATE_DIR
export RIDESHARE_COMPOSE_ADMIN_TOKEN_FILE=$STATE_DIR/admin_token
UP_TIMEOUT=${RIDESHARE_COMPOSE_UP_TIMEOUT:-300}
BUILD_DIR=${RIDESHARE_BUILD_DIR:-build}
case $BUILD_DIR in /*) ;; *) BUILD_DIR=$ROOT/$BUILD_DIR ;; esac
SERVICE_BINS=(rideshare-users rideshare-rides rideshare-orchestrator rideshare-worker)
INFRA_SERVICES=(postgres rabbitmq zookeeper)
export DOCKER_BUILDKIT=0   # the legacy builder uses local images as FROM, no registry

# Messages: "compose: ..." on stderr (stdout is for what a command prints),
# the same helpers as every script of the tree.
RS_SAY_PREFIX=compose RS_SAY_FD=2
# shellcheck source=scripts/lib/say.sh
source "$ROOT/scripts/lib/say.sh"
# shellcheck source=compose/lib.sh
source "$HERE/lib.sh"

# docker-compose (Debian's v1), or the v2 plugin if that is what is installed.
dc() {
	if command -v docker-compose >/dev/null 2>&1; then
		docker-compose -p "$PROJECT" -f "$HERE/docker-compose.yml" "$@"
	else
		docker compose -p "$PROJECT" -f "$HERE/docker-compose.yml" "$@"
	fi
}

# The deployment's admin token: 32 random bytes as hex, made once, mode 0600 in
# a 0700 directory; kept across down/up, deleted by `down --volumes`.
ensure_token() {
	local f=$RIDESHARE_COMPOSE_ADMIN_TOKEN_FILE tmp
	(umask 077 && mkdir -p "$STATE_DIR")
	chmod 0700 "$STATE_DIR"
	if [ ! -s "$f" ]; then
		tmp=$(mktemp "$STATE_DIR/.admin_token.XXXXXX")
		head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$tmp"
		chmod 0600 "$tmp"
		mv -f "$tmp" "$f"
		rs_say "admin token made: $f"
	fi
	chmod 0600 "$f"
	ensure_secrets
}

# The servers' credentials, one random password each per deployment, made
# once (the volumes' data expects them), and the files clients read:
# amqp_url (user rideshare), zk_auth (ZooKeeper digest user:password),
# pgpass (libpq passfile). All 0600 in the 0700 state dir; containers get
# them as read-only bind mounts under /run/secrets/.
ensure_secrets() {
	local d=$STATE_DIR name
	for name in amqp_password pg_password zk_password; do
		[ -s "$d/$name" ] || (umask 077 && head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/$name")
	done
	(
		umask 077
		printf 'amqp://rideshare:%s@rabbitmq:5672\n' "$(cat "$d/amqp_password")" > "$d/amqp_url"
		printf 'rideshare:%s\n' "$(cat "$d/zk_password")" > "$d/zk_auth"
		printf '*:*:*:postgres:%s\n' "$(cat "$d/pg_password")" > "$d/pgpass"
	)
	chmod 0600 "$d"/amqp_password "$d"/pg_password "$d"/zk_password "$d"/amqp_url "$d"/zk_auth "$d"/pgpass
}

# Why the deployment cannot run here (empty when it can).
docker_unavailable() {
	command -v docker >/dev/null 2>&1 || { echo "docker CLI not installed"; return; }
	if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1; then
		echo "docker-compose not installed"; return
	fi
	timeout 20 docker info >/dev/null 2>&1 || { echo "no Docker daemon answers (docker info failed)"; return; }
	if ! docker image inspect rideshare/base:latest >/dev/null 2>&1; then
		[ "$(id -u)" = 0 ] || { echo "building the images needs root (debootstrap, chroot)"; return; }
		command -v debootstrap >/dev/null 2>&1 || { echo "building the images needs debootstrap (apt-get install debootstrap)"; return; }
	fi
}

# ------------------------------------------------------------------ images
missing_bins() {
	local b
	for b in "${SERVICE_BINS[@]}"; do
		[ -x "$BUILD_DIR/bin/$b" ] || echo "$b"
	done
}

ensure_bins() {
	local missing
	missing=$(missing_bins)
	[ -n "$missing" ] || return 0
	rs_say "binaries missing in $BUILD_DIR/bin: $(echo $missing) — building the project"
	if [ -x "$ROOT/rideshare" ]; then
		RIDESHARE_BUILD_DIR=$BUILD_DIR "$ROOT/rideshare" build
	else
		rs_die "no $ROOT/rideshare to build with; build the project into $BUILD_DIR first"
	fi
	missing=$(missing_bins)
	[ -z "$missing" ] || rs_die "still missing after the build: $(echo $missing)"
}

# docker build TARGET from a staged context.
build_target() {
	local ctx=$1 t=$2 t0
	t0=$(now)
	if ! docker build -q -f "$ctx/Dockerfile" --target "$t" \
		-t "rideshare/$t:latest" "$ctx" >"$ctx/build-$t.log" 2>&1; then
		grep -v -i 'legacy builder is deprecated\|BuildKit is currently disabled\|environment-variable' \
			"$ctx/build-$t.log" >&2
		rs_die "docker build --target $t failed"
	fi
	rs_say "image rideshare/$t:latest ready ($(elapsed "$t0") s)"
}

# The edge config: the local stack's template (scripts/stack/nginx.conf.in, so the
# routing and error bodies stay identical) rendered for a container — listen on
# :80, upstreams users:8081 / rides:8082, logs to stderr/stdout, state under
# /var/lib/nginx/edge, `daemon off;` dropped (the image's CMD passes it), plus a
# healthcheck server on 127.0.0.1:81. One config for both deployments: no copy
# here that could drift from the local stack's.
render_edge_conf() {
	local out=$1 tpl=$ROOT/scripts/stack/nginx.conf.in
	[ -f "$tpl" ] || rs_die "no $tpl (the edge config both deployments share)"
	{
		echo "# Rendered by compose/compose.sh from scripts/stack/nginx.conf.in for the compose edge."
		sed -e 's|"@LOG_DIR@/nginx-error.log"|stderr|g' \
			-e 's|"@LOG_DIR@/nginx-access.log"|/dev/stdout|g' \
			-e 's|@NGINX_DIR@|/var/lib/nginx/edge|g' \
			-e 's|listen 127\.0\.0\.1:@EDGE_PORT@|listen 80|' \
			-e 's|127\.0\.0\.1:@USERS_PORT@|users:8081|' \
			-e 's|127\.0\.0\.1:@RIDES_PORT@|rides:8082|' \
			-e '/^[[:space:]]*daemon off;/d' \
			-e 's|^http {|http {\n    # compose: healthcheck endpoint, reachable only inside the container\n    server {\n        listen 127.0.0.1:81;\n        access_log off;\n        location / { return 200 "ok\\n"; }\n    }\n|' \
			"$tpl"
	} > "$out"
	if grep -n '^[^#]*@[A-Z_]*@' "$out" >&2; then
		rs_die "edge config: placeholders of $tpl left unrendered (update render_edge_conf)"
	fi
}

# cmd_images [infra]: server images always; service images unless "infra".
cmd_images() {
	local what=${1:-all} t0 ctx b
	t0=$(now)
	"$HERE/build-images"
	ctx=$(mktemp -d "${TMPDIR:-/tmp}/rideshare-compose-ctx.XXXXXX")
	# shellcheck disable=SC2064
	trap "rm -rf '$ctx'" RETURN
	mkdir -p "$ctx/bin" "$ctx/tools" "$ctx/edge-root/etc/nginx" "$ctx/edge-root/var/lib/nginx/edge/tmp"
	cp "$HERE/Dockerfile" "$ctx/Dockerfile"
	render_edge_conf "$ctx/edge-root/etc/nginx/nginx.conf"
	build_target "$ctx" edge
	if [ "$what" != infra ]; then
		ensure_bins
		for b in "${SERVICE_BINS[@]}"; do cp -L "$BUILD_DIR/bin/$b" "$ctx/bin/"; done
		[ ! -x "$BUILD_DIR/bin/rsctl" ] || cp -L "$BUILD_DIR/bin/rsctl" "$ctx/tools/"
		for b in users rides orchestrator worker worker-pg; do build_target "$ctx" "$b"; done
	fi
	# Earlier builds of our tags are now dangling: drop them.
	docker image prune -f --filter "label=$LABEL" >/dev/null 2>&1 || true
	rs_say "images ready in $(elapsed "$t0") s"
}

# ------------------------------------------------------------------ up / wait
project_containers() {
	docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"
}

# Waits until every container of the project is running and healthy.
wait_healthy() {
	local deadline=$((SECONDS + UP_TIMEOUT)) ids line bad
	while :; do
		ids=$(project_containers)
		bad=""
		if [ -z "$ids" ]; then
			bad="no containers"
		else
			while read -r line; do
				case $line in
					*" running healthy") ;;
					*" running ") ;;      # no healthcheck defined
					*) bad="$bad ${line%% *}($(echo "${line#* }" | tr ' ' '/'))" ;;
				esac
			done < <(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' $ids | sed 's|^/||')
		fi
		[ -n "$bad" ] || return 0
		if [ $SECONDS -ge $deadline ]; then
			rs_say "not healthy after ${UP_TIMEOUT} s:$bad"
			return 1
		fi
		case $bad in *unhealthy*|*exited*|*dead*)
			rs_say "failed:$bad"; return 1 ;;
		esac
		sleep 0.5
	done
}

show_failure() {
	local id name
	for id in $(project_containers); do
		name=$(docker inspect -f '{{.Name}} {{.State.Status}} {{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id")
		case $name in *" running healthy") continue ;; esac
		rs_say "---- $name (last 30 log lines)"
		docker logs --tail 30 "$id" 2>&1 | sed 's/^/    /' >&2
		docker inspect -f '{{if .State.Health}}{{range .State.Health.Log}}    health: rc={{.ExitCode}} {{.Output}}{{end}}{{end}}' "$id" 2>/dev/null | tail -3 >&2
	done
}

cmd_up() {
	local t0 t_img t1 infra=1 s
	t0=$(now)
	for s in "$@"; do
		case " ${INFRA_SERVICES[*]} " in *" $s "*) ;; *) infra=0 ;; esac
	done
	[ $# -gt 0 ] || infra=0
	if [ $infra = 1 ]; then cmd_images infra; else cmd_images; fi
	t_img=$(elapsed "$t0")
	t1=$(now)
	ensure_token
	rs_say "docker-compose up -d $*"
	if ! dc up -d --remove-orphans "$@"; then
		show_failure
		rs_die "docker-compose up failed"
	fi
	if ! wait_healthy; then
		show_failure
		rs_die "deployment not healthy (leave it for inspection, or: compose.sh down)"
	fi
	rs_say "healthy: images $t_img s + up $(elapsed "$t1") s = total $(elapsed "$t0") s"
	if [ $infra = 0 ]; then
		local bind=${RIDESHARE_COMPOSE_BIND:-127.0.0.1}
		rs_say "edge http://$bind:${RIDESHARE_COMPOSE_EDGE_PORT:-8880}  users :${RIDESHARE_COMPOSE_USERS_PORT:-8881}  rides :${RIDESHARE_COMPOSE_RIDES_PORT:-8882}  admin :${RIDESHARE_COMPOSE_ADMIN_PORT:-8890}"
	fi
}

# ------------------------------------------------------------------ down
# What belongs to this deployment: containers of the compose project, worker
# containers (our label and the orchestrator's name prefix, or attached to our
# network), networks and volumes of the project. With DOWN_ALL=1: everything
# carrying our label (also other projects' and other tests' containers).
DOWN_ALL=${RIDESHARE_COMPOSE_DOWN_ALL:-0}
ours() { # KIND
	local k=$1
	if [ "$DOWN_ALL" = 1 ]; then
		case $k in
			container) docker ps -aq --filter "label=$LABEL" ;;
			network) docker network ls -q --filter "label=$LABEL" ;;
			volume) docker volume ls -q --filter "label=$LABEL" ;;
		esac
		return
	fi
	case $k in
		container)
			{
				docker ps -aq --filter "label=com.docker.compose.project=$PROJECT"
				docker ps -aq --filter "label=$LABEL" --filter "network=$RIDESHARE_COMPOSE_NETWORK"
				docker ps -a --filter "label=$LABEL" --format '{{.ID}} {{.Names}}' \
					| awk -v p="$PROJECT-worker-" 'index($2, p) == 1 { print $1 }'
			} | sort -u ;;
		network)
			{
				docker network ls -q --filter "label=com.docker.compose.project=$PROJECT"
				docker network ls -q --filter "label=$LABEL" --filter "name=^${RIDESHARE_COMPOSE_NETWORK}\$"
			} | sort -u ;;
		volume) docker volume ls -q --filter "label=com.docker.compose.project=$PROJECT" ;;
	esac
}
labelled() { # KIND: ids of everything with our label (any project)
	case $1 in
		container) docker ps -aq --filter "label=$LABEL" ;;
		network) docker network ls -q --filter "label=$LABEL" ;;
		volume) docker volume ls -q --filter "label=$LABEL" ;;
	esac
}

cmd_down() {
	local t0 ids left="" k purge=0 arg kinds="container network"
	t0=$(now)
	for arg; do
		case $arg in
			--all) DOWN_ALL=1 ;;
			--volumes|-v|--purge) purge=1 ;;
			*) rs_die "down: unknown argument '$arg' (--volumes|--purge, --all)" ;;
		esac
	done
	[ $purge = 0 ] || kinds="container network volume"
	# No -v: the named volumes hold the data (pgdata: every worker's database).
	dc down --remove-orphans -t "${RIDESHARE_COMPOSE_STOP_TIMEOUT:-10}" 2>&1 \
		| grep -v '^Network .* not found\|^Removing network\|^Volume .* not found\|^Removing volume' >&2 || true
	# Whatever compose does not know about: worker containers started by the
	# orchestrator, leftovers of interrupted runs. They hold no data (their
	# databases are in the postgres container's volume).
	ids=$(ours container)
	[ -z "$ids" ] || { rs_say "removing containers: $(docker inspect -f '{{.Name}}' $ids | tr -d / | tr '\n' ' ')"; docker rm -f $ids >/dev/null 2>&1 || true; }
	ids=$(ours network)
	[ -z "$ids" ] || docker network rm $ids >/dev/null 2>&1 || true
	if [ $purge = 1 ]; then
		ids=$(ours volume)
		[ -z "$ids" ] || { rs_say "deleting volumes (all data): $(echo $ids)"; docker volume rm -f $ids >/dev/null 2>&1 || true; }
		if [ -d "$STATE_DIR" ]; then
			# The secrets belong to the data just deleted.
			rm -f "$STATE_DIR"/admin_token "$STATE_DIR"/amqp_password "$STATE_DIR"/pg_password \
				"$STATE_DIR"/zk_password "$STATE_DIR"/amqp_url "$STATE_DIR"/zk_auth "$STATE_DIR"/pgpass
			rmdir "$STATE_DIR" 2>/dev/null || true
			rs_say "deleted the admin token and the servers' credentials"
		fi
	fi
	for k in $kinds; do
		ids=$(ours $k)
		[ -z "$ids" ] || left="$left $k:$(echo $ids)"
	done
	[ -z "$left" ] || rs_die "left behind:$left"
	ids=$(labelled container)
	if [ -n "$ids" ]; then
		rs_say "left alone (labelled $LABEL, not this deployment; \`down --all\` removes them):" \
			"$(docker inspect -f '{{.Name}}' $ids | tr -d / | tr '\n' ' ')"
	fi
	if [ $purge = 1 ]; then
		rs_say "down --volumes: nothing of project $PROJECT is left: no container, network, volume or secret ($(elapsed "$t0") s)"
	else
		ids=$(ours volume)
		rs_say "down: no container or network of project $PROJECT is left; data kept in volumes: $(echo $ids) (delete: down --volumes) ($(elapsed "$t0") s)"
	fi
}

# ------------------------------------------------------------------ status / logs
cmd_status() {
	dc ps
	local ids
	ids=$(comm -23 <(ours container | sort) <(project_containers | sort))
	if [ -n "$ids" ]; then
		echo
		echo "other containers labelled $LABEL (worker containers):"
		docker inspect -f '{{.Name}} {{.State.Status}} pid={{.State.Pid}} image={{.Config.Image}}' $ids | sed 's|^/|  |'
	fi
}

# ------------------------------------------------------------------ test
cmd_test() {
	local rc=0
	test_up "${RIDESHARE_COMPOSE_KEEP:-0}"
	# The endpoint variables tests/with-stack.sh gives the local-stack tests.
	export_endpoints "${RIDESHARE_COMPOSE_EDGE_PORT:-8880}" "${RIDESHARE_COMPOSE_USERS_PORT:-8881}" \
		"${RIDESHARE_COMPOSE_RIDES_PORT:-8882}" "${RIDESHARE_COMPOSE_ADMIN_PORT:-8890}"
	local t0 py=/usr/bin/python3 api=${RIDESHARE_COMPOSE_API_TESTS:-}
	[ -x "$py" ] || py=python3
	t0=$(now)
	# 1. The local stack's public-API suite (tests/api), pointed at the compose edge.
	if [ "$api" = none ]; then
		rs_say "public-API suite: not run (RIDESHARE_COMPOSE_API_TESTS=none)"
	elif [ -n "$api" ]; then
		rs_say "public-API suite: $api"
		bash -c "$api" || rc=$?
	elif [ ! -d "$ROOT/tests/api" ]; then
		rs_say "public-API suite: SKIPPED (no tests/api)"
	elif ! "$py" -c 'import pytest, requests' 2>/dev/null; then
		rs_say "public-API suite: SKIPPED ($py has no pytest/requests: ./rideshare deps)"
	else
		rs_say "public-API suite: $py -m pytest tests/api against $RIDESHARE_EDGE_URL"
		"$py" -m pytest -q -p no:cacheprovider "$ROOT/tests/api" || rc=$?
	fi
	# 2. Container failover tests.
	"$py" "$ROOT/tests/compose/run_compose_tests.py" "$@" || rc=$?
	rs_say "tests finished in $(elapsed "$t0") s (rc=$rc)"
	return $rc
}

main() {
	local cmd=${1:-}
	[ $# -eq 0 ] || shift
	case $cmd in
		images) if [ "${1:-}" = --infra ]; then cmd_images infra; else cmd_images; fi ;;
		up) cmd_up "$@" ;;
		down) cmd_down "$@" ;;
		status|ps) cmd_status ;;
		logs) dc logs "$@" ;;
		test) cmd_test "$@" ;;
		config) ensure_token; dc config ;;
		token) ensure_token; echo "$RIDESHARE_COMPOSE_ADMIN_TOKEN_FILE" ;;
		dc) ensure_token; dc "$@" ;;
		""|-h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
		*) rs_die "unknown command '$cmd' (images, up, down, status, logs, test, config, token, dc)" ;;
	esac
}

main "$@"
