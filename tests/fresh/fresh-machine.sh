#!/usr/bin/env bash
# ctest "fresh_machine" (label fresh): the README's set-up path on a clean
# Debian 12. The minbase rootfs that compose/build-images debootstraps and
# caches becomes a throwaway image; the checkout's files (git ls-files, never
# build dirs) are copied into a container of it, which runs as root, with
# CI=true (-Werror) like .ci/run:
#   ./rideshare deps      (from no apt lists and no policy-rc.d, as on a new machine)
#   every program a script or test calls must then be on PATH (list below)
#   ./rideshare build
#   ctest -L unit
# Any failure fails the test. Skips (77, one-line reason) when no Docker daemon
# answers or the minbase rootfs cannot be built (root, debootstrap, mirror).
# The container and image are removed afterwards; the daemon is left as found.
#
#   tests/fresh/fresh-machine.sh [SOURCE_DIR]
# Environment:
#   RIDESHARE_FRESH_TIMEOUT_S=1200  deadline of the run inside the container
#   RIDESHARE_FRESH_DEB_CACHE=1     reuse downloaded .debs across runs (the
#                                   image builder's cache dir); 0 = download all
#   RIDESHARE_FRESH_NETWORK=host    docker network of the container (apt needs
#                                   the machine's Debian mirror)
#   RIDESHARE_FRESH_KEEP=1          keep the container and image (debugging)
#   RIDESHARE_IMAGE_CACHE           see compose/build-images
set -euo pipefail

root=$(realpath -- "${1:-$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../..}")
timeout_s=${RIDESHARE_FRESH_TIMEOUT_S:-1200}
network=${RIDESHARE_FRESH_NETWORK:-host}
label=org.rideshare.fresh-test
name=rideshare-fresh-$$
image=rideshare-fresh-test:$$

RS_SAY_PREFIX=fresh
# shellcheck source=scripts/lib/say.sh
source "$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../../scripts/lib/say.sh"
skip() {
	printf 'SKIPPED: %s\n' "$*"
	exit 77
}
fail() {
	printf 'fresh: FAIL: %s\n' "$*"
	exit 1
}

# Programs the scripts and tests call (audit of issue 13), checked by name
# after `./rideshare deps`. Paths are for those called by absolute path.
programs=(
	# build and tests
	cmake ctest make cc pkg-config protoc-c python3 /usr/bin/python3 clang-14
	# ./rideshare and scripts/stack (servers, services, stack, tools)
	bash realpath flock setsid setpriv useradd id ss curl od sha1sum timeout
	/usr/lib/postgresql/15/bin/postgres /usr/lib/postgresql/15/bin/initdb
	/usr/lib/postgresql/15/bin/pg_isready psql
	/usr/lib/rabbitmq/bin/rabbitmq-server rabbitmqctl epmd java
	/usr/share/zookeeper/bin/zkCli.sh nginx
	# compose/, tests/compose, tests/system, bench/
	debootstrap chroot mount dpkg-deb sha256sum ps docker-compose wrk
	/usr/bin/time git
	# lint
	shellcheck clang-format
)
# Python modules the tests import (tests/api, tests/compose, bench).
py_modules=(pytest requests)

command -v docker >/dev/null 2>&1 || skip "no docker CLI (Docker is not installed by ./rideshare deps)"
timeout 20 docker info >/dev/null 2>&1 || skip "no Docker daemon answers (docker info failed)"

# The minbase rootfs: compose/build-images owns the debootstrap (mirror from
# this machine's apt sources) and its cache; it prints the rootfs path.
minbase_log=$(mktemp)
minbase=$("$root/compose/build-images" --minbase 2>"$minbase_log") || {
	reason=$(grep -m1 'error:' "$minbase_log" | sed 's/.*error: //')
	rm -f "$minbase_log"
	skip "the minbase rootfs cannot be built (compose/build-images --minbase: ${reason:-failed})"
}
rm -f "$minbase_log"
[[ -d $minbase/etc/apt ]] || skip "compose/build-images --minbase gave no rootfs ($minbase)"
cache=$(dirname "$minbase")

# Leftovers of runs that were killed (ctest timeout): their shell is gone.
for kind in container image; do
	for id in $(docker "$kind" ls -aq --filter "label=$label" 2>/dev/null); do
		pid=$(docker inspect -f "{{index .Config.Labels \"$label\"}}" "$id" 2>/dev/null || true)
		[[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && continue
		docker "$kind" rm -f "$id" >/dev/null 2>&1 || true
	done
done

files=
cleanup() {
	[[ -z $files ]] || rm -f "$files"
	[[ ${RIDESHARE_FRESH_KEEP-} == 1 ]] && {
		rs_say "kept container $name and image $image (RIDESHARE_FRESH_KEEP=1)"
		return
	}
	docker rm -f "$name" >/dev/null 2>&1 || true
	docker rmi "$image" >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 143' TERM INT

t0=$SECONDS
# Shared lock: build-images takes it exclusively while it replaces the rootfs.
flock -s "$cache/.lock" tar --numeric-owner --xattrs -C "$minbase" -c . |
	docker import --change 'ENV LANG=C.UTF-8' --change "LABEL $label=$$" - "$image" >/dev/null
rs_say "image $image from $minbase in $((SECONDS - t0)) s"

mounts=()
if [[ ${RIDESHARE_FRESH_DEB_CACHE:-1} != 0 ]]; then
	mkdir -p "$cache/debs"
	mounts=(-v "$cache/debs:/var/cache/rideshare-debs")
fi

# The run inside the container. The .deb cache only saves downloads: apt still
# resolves and installs every package, and checks each cached file's hash.
# force-unsafe-io is what Debian's own container images set for dpkg.
inner=$(
	cat <<'EOF'
set -euo pipefail
t() { printf 'fresh[%s]: %s\n' "$(date +%T)" "$*"; }
rm -f /usr/sbin/policy-rc.d
rm -rf /var/lib/apt/lists/*
echo force-unsafe-io >/etc/dpkg/dpkg.cfg.d/rideshare-fresh-unsafe-io
debs=/var/cache/rideshare-debs
if [ -d "$debs" ]; then
	mkdir -p /var/cache/apt/archives/partial
	find "$debs" -maxdepth 1 -name '*.deb' -exec cp -t /var/cache/apt/archives/ {} +
fi
cd /src
s=$SECONDS
t "./rideshare deps (its apt output: /tmp/deps.log in the container)"
if ! ./rideshare deps >/tmp/deps.log 2>&1; then
	tail -n 60 /tmp/deps.log
	t "FAIL: ./rideshare deps"
	exit 1
fi
grep -E '^rideshare: |newly installed|^Need to get|^Fetched' /tmp/deps.log || true
t "deps done in $((SECONDS - s)) s"
if [ -d "$debs" ]; then
	for f in /var/cache/apt/archives/*.deb; do
		b=${f##*/}
		[ -e "$debs/$b" ] || { cp "$f" "$debs/.$b.$$" && mv "$debs/.$b.$$" "$debs/$b"; } || true
	done
fi
missing=()
for p in $FRESH_PROGRAMS; do
	command -v "$p" >/dev/null 2>&1 || missing+=("$p")
done
for m in $FRESH_PY_MODULES; do
	/usr/bin/python3 -c "import $m" 2>/dev/null || missing+=("python3 module $m")
done
if [ ${#missing[@]} -gt 0 ]; then
	t "FAIL: missing after ./rideshare deps: ${missing[*]}"
	exit 1
fi
t "all $(wc -w <<<"$FRESH_PROGRAMS") programs and $(wc -w <<<"$FRESH_PY_MODULES") python modules present"
s=$SECONDS
t "./rideshare build"
./rideshare build
t "build done in $((SECONDS - s)) s"
s=$SECONDS
t "ctest -L unit"
ctest --test-dir build -L unit --output-on-failure
t "unit tests done in $((SECONDS - s)) s"
EOF
)

docker create --name "$name" --label "$label=$$" --network "$network" "${mounts[@]}" \
	-e CI=true -e "FRESH_PROGRAMS=${programs[*]}" -e "FRESH_PY_MODULES=${py_modules[*]}" \
	"$image" timeout "$timeout_s" bash -c "$inner" >/dev/null

# The checkout's files (never build dirs).
# shellcheck source=scripts/lib/tree.sh
source "$root/scripts/lib/tree.sh"
files=$(mktemp)
(cd "$root" && rs_tree_files "$root" | while IFS= read -r -d '' f; do
	[[ -e $f || -L $f ]] && printf '%s\0' "$f"
done) >"$files"
nfiles=$(tr -cd '\0' <"$files" | wc -c)
((nfiles > 0)) || fail "no source files found in $root"
tar -C "$root" --null -T "$files" --owner=0 --group=0 --numeric-owner \
	--transform 's,^,src/,' -cf - | docker cp - "$name:/"
rs_say "copied $nfiles files of $root to $name:/src"

t1=$SECONDS
rc=0
docker start -a "$name" || rc=$?
rs_say "container run: $((SECONDS - t1)) s, total $((SECONDS - t0)) s"
((rc == 124)) && fail "timed out after ${timeout_s} s (RIDESHARE_FRESH_TIMEOUT_S)"
((rc == 0)) || fail "exit status $rc inside the fresh container (output above)"
rs_say "PASS: deps, build and unit tests on a fresh Debian rootfs"
