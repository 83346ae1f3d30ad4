#!/usr/bin/env bash
# System test of the docker spawner against the real Docker daemon:
#   docker_spawner.sh BASE TEST_BINARY
# Skips (77) without a daemon or without the worker image; otherwise runs
# TEST_BINARY under tests/with-stack.sh BASE with the orchestrator spawning
# worker containers on the host network, then checks that no container of
# this run is left.
set -euo pipefail
base=$1
bin=$2
root=$(cd "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../.." && pwd)
sock=${RIDESHARE_DOCKER_SOCKET:-/var/run/docker.sock}
image=${RIDESHARE_DOCKER_WORKER_IMAGE:-rideshare/worker:latest}
engine() { curl -s --unix-socket "$sock" -o /dev/null -w '%{http_code}' "http://localhost/v1.41$1"; }

if [[ ! -S $sock ]] || [[ $(engine /_ping) != 200 ]]; then
	echo "SKIP: no Docker daemon at $sock"
	exit 77
fi
if [[ $(engine "/images/$image/json") != 200 ]]; then
	echo "SKIP: no image $image (./rideshare compose images builds it)"
	exit 77
fi
export RIDESHARE_SPAWNER=docker RIDESHARE_DOCKER_NETWORK=host
export RIDESHARE_DOCKER_WORKER_IMAGE=$image
export RIDESHARE_DOCKER_LABEL=org.rideshare.project=rs-test-$base
export RIDESHARE_DOCKER_NAME_PREFIX=rs-test-$base-worker-
# The stack's credentials (docs/security.md) are files on the host: the
# worker containers see the secrets dir at the same path, read-only.
secrets=$(realpath -m -- "${RIDESHARE_TEST_STACK_ROOT:-${RIDESHARE_BUILD_DIR:-$root/build}}")/stack-$((10#$base))/secrets
export RIDESHARE_DOCKER_BINDS=$secrets:$secrets:ro
rc=0
"$root/tests/with-stack.sh" "$base" -- "$bin" || rc=$?
# The orchestrator leaves its workers running when it stops (a restarted
# one adopts them); stopping the stack stops their processes: no worker
# container may still run. The stopped ones are this test's to remove.
filter=$(printf '{"label":["%s"]}' "$RIDESHARE_DOCKER_LABEL")
running=$(curl -s --unix-socket "$sock" -G "http://localhost/v1.41/containers/json" \
	--data-urlencode "filters=$filter")
if [[ $running != "[]" ]]; then
	echo "FAIL: worker containers still running after the stack stopped: $running"
	((rc != 0)) || rc=1
fi
all=$(curl -s --unix-socket "$sock" -G "http://localhost/v1.41/containers/json" \
	--data-urlencode all=1 --data-urlencode "filters=$filter")
ids=$(grep -o '"Id":"[0-9a-f]*"' <<<"$all" | cut -d'"' -f4 || true)
for id in $ids; do
	curl -s --unix-socket "$sock" -X DELETE "http://localhost/v1.41/containers/$id?force=true" >/dev/null
done
exit "$rc"
