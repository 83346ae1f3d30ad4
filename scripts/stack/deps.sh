# shellcheck shell=bash
# `./rideshare deps`: the Debian 12 packages the build, the local stack and the
# tests need. A no-op (one dpkg-query) when everything is installed.

RS_DEB_PACKAGES=(
	cmake pkg-config build-essential
	libprotobuf-c-dev protobuf-c-compiler libnng-dev librabbitmq-dev
	libzookeeper-mt-dev zookeeper libpq-dev postgresql-15
	libcivetweb-dev civetweb rabbitmq-server nginx
	libjansson-dev libcmocka-dev libcurl4-openssl-dev
	wrk netcat-openbsd python3-pytest python3-requests
	curl iproute2 procps
	debootstrap docker-compose shellcheck clang-format git time
	clang-14 libclang-rt-14-dev
	chromium
)

# Prints the packages of RS_DEB_PACKAGES that are not installed, one per line.
rs_deps_missing() {
	local -A installed=()
	local pkg status
	while IFS=$'\t' read -r pkg status; do
		[[ $status == ii* ]] && installed[$pkg]=1
	done < <(dpkg-query -W -f='${Package}\t${db:Status-Abbrev}\n' "${RS_DEB_PACKAGES[@]}" 2>/dev/null || true)
	for pkg in "${RS_DEB_PACKAGES[@]}"; do
		[[ -n ${installed[$pkg]-} ]] || printf '%s\n' "$pkg"
	done
}

# True when apt has never downloaded package lists on this machine.
rs_deps_lists_empty() {
	! compgen -G '/var/lib/apt/lists/*_Packages*' >/dev/null
}

# Installs the given packages with one apt-get call, with a policy-rc.d that
# keeps maintainer scripts from starting system services (PostgreSQL, RabbitMQ,
# nginx, ZooKeeper would otherwise grab their standard ports). Runs in a
# subshell so its EXIT trap stays local. Called from an `||` list, where
# errexit does not apply: every step checks its own status.
rs_deps_install() (
	local policy=/usr/sbin/policy-rc.d
	if [[ ! -e $policy ]]; then
		printf '#!/bin/sh\n# written by rideshare deps: no service starts during install\nexit 101\n' >"$policy"
		chmod 0755 "$policy"
		trap 'rm -f "$policy"' EXIT
	fi
	export DEBIAN_FRONTEND=noninteractive
	local apt=(apt-get -y -q -o DPkg::Lock::Timeout=300)
	if rs_deps_lists_empty; then
		rs_say "deps: apt-get update (no package lists yet)"
		"${apt[@]}" update || exit 1
	fi
	rs_say "deps: apt-get install $*"
	if ! "${apt[@]}" install --no-install-recommends "$@"; then
		rs_warn "deps: install failed; refreshing package lists and retrying once"
		"${apt[@]}" update || exit 1
		"${apt[@]}" install --no-install-recommends "$@" || exit 1
	fi
)

cmd_deps() {
	local missing
	mapfile -t missing < <(rs_deps_missing)
	if ((${#missing[@]} == 0)); then
		[[ ${1-} == --quiet ]] || rs_say "deps: all ${#RS_DEB_PACKAGES[@]} packages installed"
		return 0
	fi
	if ((EUID != 0)); then
		rs_err "deps: missing Debian packages: ${missing[*]}"
		rs_err "install them as root, e.g.: sudo apt-get install ${missing[*]}"
		rs_err "(or run ./rideshare deps as root)"
		exit 1
	fi
	rs_deps_install "${missing[@]}" || rs_die "deps: apt-get install failed"
	mapfile -t missing < <(rs_deps_missing)
	((${#missing[@]} == 0)) || rs_die "deps: still missing after install: ${missing[*]}"
	rs_say "deps: installed"
}
