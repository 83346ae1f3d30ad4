#!/usr/bin/env bash
# compose/swarm-netns.sh — a 3-node Docker swarm on ONE machine: three extra
# dockerd instances, each in its own network namespace, joined as three
# managers, running compose/stack.yml with each RabbitMQ/ZooKeeper member on
# its own node; then a node loss under writers. docs/swarm.md ("A 3-node swarm
# of separate daemons on one machine") has the layout and the measurements.
#
#   swarm-netns.sh up        namespaces + daemons + swarm + images + the stack
#   swarm-netns.sh lose [N]  node N (default: the master worker's node) lost
#                            under 2 writers (link cut + daemon stopped), then
#                            back; checks no acknowledged write is lost
#   swarm-netns.sh down      removes EVERYTHING up made (daemons, their
#                            containers, cgroups, data roots, namespaces, links)
#   swarm-netns.sh status    nodes, services, where each task runs
#   swarm-netns.sh run       up + lose + down, exit 77 when it cannot run here
#
# Network: namespace rsn-sw holds a bridge (the "switch"); nodes rsn1..3 hang
# on it by veth pairs with $NET.11..13; the host reaches them through veth
# rsn-host ($NET.1). Nothing is routed or NATed: no iptables rule of the host
# changes (each daemon's iptables rules live in its node's namespace and go
# with it). Each daemon also runs in a private mount namespace with a tmpfs on
# /run, so its exec-root, containerd, netns files and /run/docker.sock (which
# the orchestrator mounts) are its own; the host talks to it through
# $STATE/nN/docker.sock. The main Docker daemon is only read (docker save).
#
# Environment: RIDESHARE_NETNS_STATE (default /var/lib/rideshare-netns: data
# roots, sockets, logs, secrets), RIDESHARE_NETNS_NET (default 10.77.0: the
# /24 of the nodes), RIDESHARE_SWARM_STACK (default rsn), RIDESHARE_NETNS_STORAGE
# (default overlay2), RIDESHARE_NETNS_KEEP=1 (run: no down at the end).
# shellcheck disable=SC2086  # id lists are word-split on purpose
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
STATE=${RIDESHARE_NETNS_STATE:-/var/lib/rideshare-netns}
NET=${RIDESHARE_NETNS_NET:-10.77.0}
STACK=${RIDESHARE_SWARM_STACK:-rsn}
STORAGE=${RIDESHARE_NETNS_STORAGE:-overlay2}
NODES=(1 2 3)
SW=rsn-sw            # the switch namespace
HOSTIF=rsn-host      # the host's leg on the switch
MAIN_SOCK=unix:///var/run/docker.sock
IMAGES=(postgres rabbitmq zookeeper edge users rides orchestrator worker worker-pg)
EDGE_PORT=8980 ADMIN_PORT=8990
UP_TIMEOUT=${RIDESHARE_SWARM_UP_TIMEOUT:-420}
PW=3d725109c7e7c0bfb9d709836735b56d943d263f   # a SHA-1 hex, as the API wants

RS_SAY_PREFIX=swarm-netns RS_SAY_FD=2
# shellcheck source=scripts/lib/say.sh
source "$ROOT/scripts/lib/say.sh"
# shellcheck source=compose/lib.sh
source "$HERE/lib.sh"

addr() { echo "$NET.1$1"; }
sock() { echo "$STATE/n$1/docker.sock"; }
dk() { local n=$1; shift; docker -H "unix://$(sock "$n")" "$@"; }
dmain() { docker -H "$MAIN_SOCK" "$@"; }
EDGE=http://$(addr 1):$EDGE_PORT
ADMIN=http://$(addr 1):$ADMIN_PORT

# Why it cannot run here (empty when it can).
unavailable() {
	[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces, dockerd)"; return; }
	local c
	for c in ip nsenter unshare dockerd docker curl; do
		command -v "$c" >/dev/null 2>&1 || { echo "$c not installed"; return; }
	done
	timeout 20 docker -H "$MAIN_SOCK" info >/dev/null 2>&1 || { echo "the main Docker daemon does not answer (images come from it)"; return; }
	for c in "${IMAGES[@]}"; do
		dmain image inspect "rideshare/$c:latest" >/dev/null 2>&1 || { echo "image rideshare/$c:latest missing on the main daemon (./rideshare compose images)"; return; }
	done
	ip netns add rsn-probe 2>/dev/null || { echo "cannot create a network namespace (ip netns add)"; return; }
	ip netns del rsn-probe
}

# ------------------------------------------------------------------ network
net_up() {
	local n
	ip netns add "$SW"
	ip -n "$SW" link set lo up
	ip -n "$SW" link add br0 type bridge
	ip -n "$SW" link set br0 up
	ip link add "$HOSTIF" type veth peer name host netns "$SW"
	ip -n "$SW" link set host master br0 up
	ip addr add "$NET.1/24" dev "$HOSTIF"
	ip link set "$HOSTIF" up
	for n in "${NODES[@]}"; do
		ip netns add "rsn$n"
		ip -n "rsn$n" link set lo up
		ip link add "n$n" netns "$SW" type veth peer name eth0 netns "rsn$n"
		ip -n "$SW" link set "n$n" master br0 up
		ip -n "rsn$n" addr add "$(addr "$n")/24" dev eth0
		ip -n "rsn$n" link set eth0 up
	done
}

# ------------------------------------------------------------------ daemons
# start_daemon N: dockerd in node N's network namespace, a private mount
# namespace (/run a tmpfs) and UTS namespace (hostname rsnN: the swarm's node
# name), its own data root, config, cgroup parent, sockets. --dns $NET.1: the
# containers' upstream DNS is lan_dns on the host's leg (below).
start_daemon() {
	local n=$1 d=$STATE/n$1 i fd fds=""
	mkdir -p "$d/data"
	echo '{}' > "$d/daemon.json"   # not /etc/docker/daemon.json: the main daemon's
	# The daemon gets no descriptor of ours but 0-2: an inherited lock (flock
	# /tmp/rs-systest.lock swarm-netns.sh run) would stay held by dockerd.
	for fd in "/proc/$BASHPID"/fd/*; do
		fd=${fd##*/}
		[ "$fd" -le 2 ] || fds="$fds $fd"
	done
	# shellcheck disable=SC2016  # $1 and $@ are the inner sh's
	(
	for fd in $fds; do eval "exec $fd>&-"; done
	exec nsenter --net="/run/netns/rsn$n" unshare --mount --uts --propagation private \
		sh -c 'mount -t tmpfs -o mode=0755 rsn-run /run && hostname "$1" && shift && exec "$@"' sh "rsn$n" \
		dockerd --config-file "$d/daemon.json" --data-root "$d/data" --exec-root /run/docker \
		--pidfile "$d/dockerd.pid" -H "unix://$d/docker.sock" -H unix:///run/docker.sock \
		--storage-driver "$STORAGE" --cgroup-parent "/rsn$n" --dns "$NET.1"
	) >> "$d/dockerd.log" 2>&1 &
	echo $! > "$d/pid"
	for i in $(seq 1 300); do
		dk "$n" info >/dev/null 2>&1 && { readlink "/proc/$(cat "$d/pid")/ns/mnt" > "$d/mntns"; return 0; }
		kill -0 "$(cat "$d/pid")" 2>/dev/null || break
		sleep 0.1
	done
	tail -5 "$d/dockerd.log" >&2
	rs_err "dockerd of node $n did not answer (log: $d/dockerd.log)"
	return 1
}

# lan_dns: what a LAN's resolver does for names it does not know, at once:
# NXDOMAIN. Swarm's embedded DNS forwards a name it no longer knows (the task
# of a lost node) upstream; the machine's resolver is unreachable from the
# namespaces, so without this each such lookup hangs 10-20 s (longer than a
# ZooKeeper session; docs/swarm.md). Nothing else: no name is ever answered.
lan_dns() {
	/usr/bin/python3 -c '
import os, socket, sys
os.closerange(3, 65536)  # no inherited descriptor (a flock) outlives the script
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
while True:
    q, peer = s.recvfrom(4096)
    if len(q) < 12:
        continue
    i = 12
    while i < len(q) and q[i]:
        i += q[i] + 1
    # id, QR + the query opcode/RD, RA + NXDOMAIN, the question only
    s.sendto(q[:2] + bytes([0x80 | (q[2] & 0x79), 0x83]) + q[4:6] + bytes(6) + q[12:i + 5], peer)
' "$NET.1" >> "$STATE/lan-dns.log" 2>&1 &
	echo $! > "$STATE/lan-dns.pid"
}

# The processes of node N: its daemon's mount namespace (dockerd, containerd,
# shims) and every process whose root is in its data root (containers).
node_pids() {
	local d=$STATE/n$1 ns p
	ns=$(cat "$d/mntns" 2>/dev/null || true)
	for p in /proc/[0-9]*; do
		if { [ -n "$ns" ] && [ "$(readlink "$p/ns/mnt" 2>/dev/null)" = "$ns" ]; } \
			|| case $(readlink "$p/root" 2>/dev/null) in "$d"/*) true ;; *) false ;; esac; then
			echo "${p#/proc/}"
		fi
	done
}

# stop_daemon N: SIGTERM (dockerd stops its containers), then SIGKILL for
# whatever of the node is left after 60 s; then its cgroups.
stop_daemon() {
	local n=$1 d=$STATE/n$1 pid i left c
	pid=$(cat "$d/pid" 2>/dev/null || true)
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid"
		for i in $(seq 1 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	fi
	left=$(node_pids "$n")
	if [ -n "$left" ]; then
		rs_say "node $n: SIGKILL to what is left: ${left//$'\n'/ }"
		kill -KILL $left 2>/dev/null || true
		sleep 1
	fi
	rm -f "$d/pid"
	for c in /sys/fs/cgroup/*/"rsn$n"; do
		[ -d "$c" ] || continue
		find "$c" -depth -type d -exec rmdir {} + 2>/dev/null || true
	done
}

# ------------------------------------------------------------------ swarm
swarm_up() {
	local n token id
	dk 1 swarm init --advertise-addr "$(addr 1)" --listen-addr "$(addr 1):2377" \
		--default-addr-pool 10.78.0.0/16 >/dev/null
	token=$(dk 1 swarm join-token -q manager)
	for n in "${NODES[@]:1}"; do
		dk "$n" swarm join --token "$token" --advertise-addr "$(addr "$n")" \
			--listen-addr "$(addr "$n"):2377" "$(addr 1):2377" >/dev/null
	done
	for n in "${NODES[@]}"; do
		id=$(dk "$n" info -f '{{.Swarm.NodeID}}')
		# node-index: the worker pid rule (docs/swarm.md); slot: placement.
		dk 1 node update --label-add "org.rideshare.node-index=$n" --label-add "rideshare.slot=$n" "$id" >/dev/null
		[ "$n" = 1 ] || dk 1 node update --label-add rideshare.worker=1 "$id" >/dev/null
	done
}

# One `docker save` of the main daemon's images, one `docker load` per node
# (in parallel). The ids stay the same: the stack and the spawner use ids.
load_images() {
	local tar=$STATE/images.tar n pids="" i
	dmain save -o "$tar" "${IMAGES[@]/#/rideshare/}"
	for n in "${NODES[@]}"; do
		dk "$n" load -q -i "$tar" >/dev/null & pids="$pids $!"
	done
	for i in $pids; do wait "$i" || { rm -f "$tar"; rs_err "docker load failed"; return 1; }; done
	rm -f "$tar"
}

# ------------------------------------------------------------------ stack
export_stack_env() {
	local i v
	export RIDESHARE_SWARM_STACK=$STACK RIDESHARE_SWARM_SECRETS=$STATE/secrets
	for i in "${IMAGES[@]}"; do
		v=RIDESHARE_SWARM_IMG_$(echo "$i" | tr a-z- A-Z_)
		export "$v=$(dk 1 image inspect -f '{{.Id}}' "rideshare/$i:latest")"
	done
	export RIDESHARE_SWARM_IMG_WORKER_SPAWN=$RIDESHARE_SWARM_IMG_WORKER_PG
	export RIDESHARE_SWARM_WORKER_VOLUME=/var/lib/postgresql/data
	export RIDESHARE_SWARM_WORKER_CONSTRAINTS=node.labels.rideshare.worker==1
	export RIDESHARE_SCALE_WINDOW_S=3600   # 1 master + 1 slave, no autoscaling
}

deploy() { # APP_REPLICAS
	RIDESHARE_SWARM_APP_REPLICAS=$1 DOCKER_HOST=unix://$(sock 1) docker stack deploy \
		--resolve-image never --prune -c "$HERE/stack.yml" -c "$HERE/swarm-netns.yml" "$STACK" 2>&1 \
		| grep -v '^Creating\|^Updating\|Ignoring unsupported options' >&2 || true
}

# container_of SVC: "node container" of the stack service's running task.
container_of() {
	local n id
	for n in "${NODES[@]}"; do
		[ -S "$(sock "$n")" ] || continue
		id=$(dk "$n" ps -q --filter "label=com.docker.swarm.service.name=${STACK}_$1" 2>/dev/null | head -1)
		[ -z "$id" ] || { echo "$n $id"; return 0; }
	done
}

all_healthy() {
	local s c bad="" st
	for s in "$@"; do
		c=$(container_of "$s")
		[ -n "$c" ] || { bad="$bad $s(no task)"; continue; }
		st=$(dk "${c% *}" inspect -f '{{.State.Status}}/{{if .State.Health}}{{.State.Health.Status}}{{end}}' "${c#* }" 2>/dev/null || echo gone)
		case $st in running/healthy|running/) ;; *) bad="$bad $s($st)" ;; esac
	done
	echo "$bad"
}

mq_running_nodes() {
	local c
	c=$(container_of rabbitmq1)
	[ -n "$c" ] || c=$(container_of rabbitmq2)
	[ -n "$c" ] || { echo 0; return; }
	# shellcheck disable=SC2086
	dk ${c% *} exec -u rabbitmq -e HOME=/var/lib/rabbitmq "${c#* }" rabbitmqctl -q cluster_status --formatter json 2>/dev/null \
		| /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("running_nodes", [])))' 2>/dev/null || echo 0
}

zk_serving() {
	local s c k=0
	for s in zookeeper1 zookeeper2 zookeeper3; do
		c=$(container_of "$s")
		[ -n "$c" ] || continue
		# shellcheck disable=SC2086
		dk ${c% *} exec "${c#* }" sh -c 'printf srvr | nc -w 2 127.0.0.1 2181' 2>/dev/null \
			| grep -q '^Mode: \(leader\|follower\)' && k=$((k + 1))
	done
	echo $k
}

# until CMD... succeeds, at most $WAIT_S s (default UP_TIMEOUT); then fails.
until_ok() {
	local deadline=$((SECONDS + ${WAIT_S:-$UP_TIMEOUT}))
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.5
	done
}
healthy() { [ -z "$(all_healthy "$@")" ]; }
mq_whole() { [ "$(mq_running_nodes)" = 3 ]; }
zk_whole() { [ "$(zk_serving)" = 3 ]; }
edge_reads() {
	local code
	curl -fsS -m 5 -o /dev/null "$ADMIN/readyz" 2>/dev/null || return 1
	code=$(curl -s -m 10 -o /dev/null -w '%{http_code}' "$EDGE/api/v1/users" 2>/dev/null) || return 1
	[ "$code" = 200 ] || [ "$code" = 204 ]
}
two_workers() { [ "$(curl -s -m 5 "$ADMIN/api/v1/worker/list" | tr -cd , | wc -c)" = 1 ]; }
# 2 workers listed, none on node $1 (pid = node-index * 10^7 + pid).
two_workers_off() {
	curl -s -m 5 "$ADMIN/api/v1/worker/list" | /usr/bin/python3 -c \
		'import json,sys; p=json.load(sys.stdin); sys.exit(not (len(p) == 2 and all(x // 10**7 != int(sys.argv[1]) for x in p)))' "$1" 2>/dev/null
}

stack_up() {
	local t1 t2
	"$HERE/swarm.sh" secrets >/dev/null   # the same secret files as swarm.sh
	t1=$(now)
	deploy 0
	if ! until_ok healthy postgres rabbitmq1 rabbitmq2 rabbitmq3 zookeeper1 zookeeper2 zookeeper3 \
		|| ! until_ok zk_whole || ! until_ok mq_whole; then
		cmd_status >&2
		rs_err "infrastructure not healthy:$(all_healthy postgres rabbitmq1 rabbitmq2 rabbitmq3 zookeeper1 zookeeper2 zookeeper3); ZooKeeper serving $(zk_serving)/3, RabbitMQ running $(mq_running_nodes)/3"
		return 1
	fi
	rs_say "infrastructure healthy on 3 nodes in $(elapsed "$t1") s (RabbitMQ 3 clustered, ZooKeeper quorum)"
	t2=$(now)
	deploy 1
	if ! until_ok healthy orchestrator users rides edge || ! WAIT_S=180 until_ok edge_reads || ! WAIT_S=120 until_ok two_workers; then
		cmd_status >&2
		rs_err "services not serving:$(all_healthy orchestrator users rides edge) (edge $EDGE)"
		return 1
	fi
	rs_say "services serving through the edge $EDGE in $(elapsed "$t2") s"
}

# ------------------------------------------------------------------ commands
cmd_up() {
	local t0 t
	t0=$(now)
	if [ -e "$STATE" ] || ip netns list | grep -q '^rsn'; then
		rs_die "$STATE or rsn* namespaces exist: swarm-netns.sh down first"
	fi
	local why
	why=$(unavailable)
	[ -z "$why" ] || rs_die "cannot run here: $why"
	mkdir -p "$STATE" && chmod 0700 "$STATE"
	t=$(now); net_up; lan_dns; rs_say "namespaces rsn-sw, rsn1..3 + bridge + veths ($NET.0/24) in $(elapsed "$t") s"
	t=$(now)
	for n in "${NODES[@]}"; do start_daemon "$n" || rs_die "node $n failed (swarm-netns.sh down cleans up)"; done
	rs_say "3 dockerd ($STORAGE) answering in $(elapsed "$t") s"
	t=$(now); swarm_up; rs_say "swarm: 3 managers joined in $(elapsed "$t") s"
	t=$(now); load_images; rs_say "images saved once and loaded on 3 nodes in $(elapsed "$t") s ($(du -sh "$STATE" | cut -f1) on disk)"
	export_stack_env
	stack_up || rs_die "deployment failed (inspect: swarm-netns.sh status; clean: swarm-netns.sh down)"
	rs_say "up in $(elapsed "$t0") s: edge $EDGE, admin $ADMIN (token $STATE/secrets/admin_token), DOCKER_HOST=unix://$(sock 1)"
}

cmd_status() {
	local n
	for n in "${NODES[@]}"; do
		if [ -S "$(sock "$n")" ] && dk "$n" info >/dev/null 2>&1; then
			echo "node $n ($(addr "$n")): $(dk "$n" info -f '{{.Swarm.LocalNodeState}} manager={{.Swarm.ControlAvailable}} containers={{.ContainersRunning}}')"
		else
			echo "node $n ($(addr "$n")): daemon not answering"
		fi
	done
	for n in "${NODES[@]}"; do
		dk "$n" node ls 2>/dev/null || continue
		echo
		dk "$n" stack ps "$STACK" --filter desired-state=running --format '{{.Name}} {{.Node}} {{.CurrentState}} {{.Error}}' 2>/dev/null || true
		echo
		dk "$n" service ls --filter label=org.rideshare.project=rideshare-c --format '{{.Name}} {{.Replicas}}' 2>/dev/null || true
		break
	done
}

# writer I FILE: adds users nl-I-k through the edge until $STATE/stop exists
# (or the state is gone: down);
# each acknowledged one (201) as "start end name" in FILE.
writer() {
	local k=0 name t code
	while [ ! -e "$STATE/stop" ] && [ -d "$STATE/n1" ]; do
		name=nl-$1-$k
		k=$((k + 1))
		t=$(now)
		code=$(curl -s -m 15 -o /dev/null -w '%{http_code}' -X PUT -H 'Content-Type: application/json' \
			-d "{\"username\":\"$name\",\"password\":\"$PW\"}" "$EDGE/api/v1/users" 2>/dev/null || true)
		if [ "$code" = 201 ]; then echo "$t $(now) $name" >> "$2"; else sleep 0.05; fi
	done
}

# The node whose worker is the master: pid = node-index * 10^7 + pid.
master_node() {
	curl -s -m 5 "$ADMIN/api/v1/status" | /usr/bin/python3 -c \
		'import json,sys; print(json.load(sys.stdin)["master"]["pid"] // 10**7)'
}

# First acknowledged write that started after $1.
first_ok_after() { awk -v t="$1" '$1 > t { print $2; exit }' "$2"; }

cmd_lose() {
	local n=${1:-} acked=$STATE/acked w pids="" t0 t_ok="" t_down="" t_wk="" t_back t users missing i
	[ -S "$(sock 1)" ] || rs_die "no netns swarm (swarm-netns.sh up)"
	[ -n "$n" ] || n=$(master_node) || rs_die "no master in $ADMIN/api/v1/status"
	case $n in 2|3) ;; *) rs_die "lose: node 2 or 3 (node 1 holds the edge and the orchestrator)" ;; esac
	rs_say "node $n ($(addr "$n")) runs: $(dk "$n" ps --format '{{.Names}}' | sed 's/\..*//' | tr '\n' ' ')(master on node $(master_node))"
	rm -f "$STATE/stop" "$acked"; : > "$acked"
	for w in 1 2; do writer "$w" "$acked" & pids="$pids $!"; done
	WAIT_S=30 until_ok test -s "$acked" || rs_die "writers get no write through"
	sleep 2
	# The loss: the link first (nothing graceful reaches the others), then
	# the daemon (it stops the node's containers, cut off).
	t0=$(now)
	ip -n "$SW" link set "n$n" down
	stop_daemon "$n" &
	local stopper=$!
	while [ -z "$t_ok" ] || [ -z "$t_down" ] || [ -z "$t_wk" ]; do
		t=$(now)
		[ -n "$t_ok" ] || { t=$(first_ok_after "$t0" "$acked"); [ -z "$t" ] || t_ok=$(awk -v a="$t0" -v b="$t" 'BEGIN{printf "%.2f", b-a}'); }
		[ -n "$t_down" ] || ! dk 1 node ls --format '{{.Hostname}} {{.Status}}' 2>/dev/null | grep -q ' Down$' || t_down=$(elapsed "$t0")
		# the lost worker's replacement: 2 workers listed again, after a loss
		[ -n "$t_wk" ] || ! two_workers_off "$n" || t_wk=$(elapsed "$t0")
		awk -v a="$t0" -v b="$(now)" 'BEGIN{exit !(b-a > 240)}' && break
		sleep 0.5
	done
	wait "$stopper" || true
	rs_say "node $n lost: first acknowledged write after ${t_ok:-NONE} s; swarm says Down after ${t_down:-NEVER} s; 2 workers listed again after ${t_wk:-NEVER} s (master now on node $(master_node 2>/dev/null || echo ?)); RabbitMQ running $(mq_running_nodes)/3, ZooKeeper serving $(zk_serving)/3"
	# Back: link up, daemon started; the swarm restarts the pinned members.
	t=$(now)
	ip -n "$SW" link set "n$n" up
	start_daemon "$n" || rs_die "node $n did not come back"
	if ! until_ok mq_whole || ! until_ok zk_whole; then
		rs_die "node $n back, but RabbitMQ $(mq_running_nodes)/3, ZooKeeper $(zk_serving)/3"
	fi
	t_back=$(elapsed "$t")
	rs_say "node $n back: daemon started, RabbitMQ 3/3 and ZooKeeper 3/3 again after $t_back s"
	sleep 3
	touch "$STATE/stop"
	for w in $pids; do wait "$w" || true; done
	rm -f "$STATE/stop"
	WAIT_S=120 until_ok edge_reads || rs_die "no read answered through the edge after node $n came back"
	# No acknowledged write lost: each is in the users the edge lists (3 reads: both slaves).
	for i in 1 2 3; do
		users=$(curl -s -m 15 "$EDGE/api/v1/users")
		missing=$(awk '{print $3}' "$acked" | while read -r u; do case $users in *"\"$u\""*) ;; *) echo "$u" ;; esac; done | wc -l)
		[ "$missing" = 0 ] || rs_die "read $i: $missing of $(wc -l < "$acked") acknowledged writes missing"
	done
	rs_say "0 of $(wc -l < "$acked") acknowledged writes lost (3 reads through the edge)"
	[ -n "$t_ok" ] || rs_die "node loss NOT survived: no write acknowledged in the 240 s after the loss"
}

cmd_down() {
	local t0 n left=""
	t0=$(now)
	touch "$STATE/stop" 2>/dev/null || true
	local pids=""
	for n in "${NODES[@]}"; do
		if [ -d "$STATE/n$n" ]; then stop_daemon "$n" & pids="$pids $!"; fi
	done
	for n in $pids; do wait "$n" || true; done
	[ ! -f "$STATE/lan-dns.pid" ] || kill "$(cat "$STATE/lan-dns.pid")" 2>/dev/null || true
	for n in "${NODES[@]}"; do ! ip netns list | grep -q "^rsn$n\b" || ip netns del "rsn$n"; done
	! ip netns list | grep -q "^$SW\b" || ip netns del "$SW"
	! ip link show "$HOSTIF" >/dev/null 2>&1 || ip link del "$HOSTIF" 2>/dev/null || true
	# Mounts stay inside the daemons' private namespaces; check anyway.
	! grep -q " $STATE" /proc/mounts || left="$left mounts"
	[ -n "$left" ] || rm -rf "$STATE"
	[ ! -e "$STATE" ] || left="$left $STATE"
	! ip netns list | grep -q '^rsn' || left="$left namespaces:$(ip netns list | grep '^rsn' | tr '\n' ' ')"
	! ls -d /sys/fs/cgroup/*/rsn[123] >/dev/null 2>&1 || left="$left cgroups"
	[ -z "$left" ] || rs_die "left behind:$left"
	rs_say "down: no daemon, namespace, link, cgroup or data root left ($(elapsed "$t0") s)"
}

cmd_run() {
	local why rc=0
	why=$(unavailable)
	if [ -n "$why" ]; then
		echo "SKIPPED: $why"
		exit 77
	fi
	# rs_die exits: the trap shows what went wrong before down removes it.
	[ "${RIDESHARE_NETNS_KEEP:-0}" = 1 ] || trap 'rc=$?; [ $rc = 0 ] || show_failure; cmd_down || true; exit $rc' EXIT
	cmd_up
	cmd_status
	cmd_lose "${1:-}" || rc=$?
	return $rc
}

# What went wrong, before down removes it: warnings and errors of the
# orchestrator and the workers (every node), the tasks.
show_failure() {
	local n id
	cmd_status >&2 || true
	for n in "${NODES[@]}"; do
		[ -S "$(sock "$n")" ] || continue
		for id in $(dk "$n" ps -q --filter label=org.rideshare.project=rideshare-c 2>/dev/null); do
			case $(dk "$n" inspect -f '{{.Name}}' "$id") in */"$STACK"_orchestrator.*|*/"$STACK"-worker-*) ;; *) continue ;; esac
			rs_say "---- node $n: $(dk "$n" inspect -f '{{.Name}}' "$id") (last warnings/errors)"
			dk "$n" logs "$id" 2>&1 | grep -E 'level=(warn|error)' | tail -12 | cut -c1-300 >&2 || true
		done
	done
}

main() {
	local cmd=${1:-}
	[ $# -eq 0 ] || shift
	case $cmd in
		up) cmd_up ;;
		down) cmd_down ;;
		status|ps) cmd_status ;;
		lose) cmd_lose "$@" ;;
		run) cmd_run "$@" ;;
		""|-h|--help|help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' ;;
		*) rs_die "unknown command '$cmd' (up, lose, down, status, run)" ;;
	esac
}

main "$@"
