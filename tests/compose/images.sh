#!/usr/bin/env bash
# ctest fixture "docker_images": builds the container images (Debian rootfs
# via debootstrap, cached, plus our binaries from RIDESHARE_BUILD_DIR) that
# the docker spawner test and the compose tests need. Skips (77) when no
# Docker daemon answers, so machines without Docker still run everything else.
set -euo pipefail
root=$(cd "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../.." && pwd)
sock=${RIDESHARE_DOCKER_SOCKET:-/var/run/docker.sock}
if [[ ! -S $sock ]] ||
	[[ $(curl -s --unix-socket "$sock" -o /dev/null -w '%{http_code}' http://localhost/_ping) != 200 ]]; then
	echo "SKIPPED: no Docker daemon answers at $sock"
	exit 77
fi
exec "$root/compose/compose.sh" images
