# shellcheck shell=bash
# `./rideshare build` and `./rideshare test`: CMake configure + build, ctest.

# True when the CMake cache in DIR holds VAR with exactly VALUE.
rs_cmake_cache_is() {
	grep -qE "^$2:[A-Z]+=$3\$" "$1/CMakeCache.txt" 2>/dev/null
}

# True when the CMake cache in DIR defines VAR (whatever its value).
rs_cmake_cache_has() {
	grep -qE "^$2:[A-Z]+=" "$1/CMakeCache.txt" 2>/dev/null
}

# rs_cmake_configure DIR [-DVAR=VALUE...]: configures DIR when it has no cache
# yet or when one of the given values differs from the cache.
rs_cmake_configure() {
	local dir=$1 def var val need=0
	shift
	[[ -f $dir/CMakeCache.txt ]] || need=1
	for def in "$@"; do
		def=${def#-D}
		var=${def%%=*}
		var=${var%%:*}
		val=${def#*=}
		rs_cmake_cache_is "$dir" "$var" "$val" || need=1
	done
	((need)) || return 0
	rs_say "build: configuring $dir"
	cmake -S "$RS_ROOT" -B "$dir" "$@"
}

# Options every configure gets: RelWithDebInfo on first configure (a build type
# chosen by hand later is kept), -Werror in CI, RIDESHARE_CMAKE_ARGS appended.
rs_cmake_options() {
	RS_CMAKE_OPTS=()
	local dir=$1
	[[ -f $dir/CMakeCache.txt ]] || RS_CMAKE_OPTS+=(-DCMAKE_BUILD_TYPE=RelWithDebInfo)
	[[ ${CI-} == true ]] && RS_CMAKE_OPTS+=(-DRIDESHARE_WERROR=ON)
	if [[ -n ${RIDESHARE_CMAKE_ARGS-} ]]; then
		local extra
		read -r -a extra <<<"$RIDESHARE_CMAKE_ARGS"
		RS_CMAKE_OPTS+=("${extra[@]}")
	fi
}

# rs_build_dir DIR [-DVAR=VALUE...]: configure if needed, then build.
rs_build_dir() {
	local dir=$1
	shift
	rs_cmake_options "$dir"
	rs_cmake_configure "$dir" "${RS_CMAKE_OPTS[@]}" "$@" || return 1
	rs_say "build: building $dir"
	cmake --build "$dir" --parallel "$(nproc)" || return 1
}

rs_have_cmake_project() {
	[[ -f $RS_ROOT/CMakeLists.txt ]]
}

cmd_build() {
	if ! rs_have_cmake_project; then
		rs_say "build: no CMakeLists.txt yet, nothing to build"
		return 0
	fi
	local t0
	t0=$(rs_now_ms)
	rs_build_dir "$RS_BUILD_DIR" || rs_die "build: failed"
	rs_say "build: done in $(rs_fmt_ms $(($(rs_now_ms) - t0)))"
}

# `./rideshare test [ctest args...]`: the whole suite in the main build dir,
# then the unit tests again under ASan/UBSan when the project offers that.
cmd_test() {
	[[ ${RIDESHARE_NO_DEPS-} == 1 ]] || cmd_deps --quiet
	if ! rs_have_cmake_project; then
		rs_say "test: no CMakeLists.txt yet, nothing to test"
		return 0
	fi
	local rc=0 asan_dir
	asan_dir=$(realpath -m -- "${RIDESHARE_ASAN_BUILD_DIR:-$RS_ROOT/build-asan}")
	if [[ ${RIDESHARE_NO_BUILD-} != 1 ]]; then
		rs_build_dir "$RS_BUILD_DIR" || rs_die "test: build failed"
	fi

	rs_say "test: ctest in $RS_BUILD_DIR"
	ctest --test-dir "$RS_BUILD_DIR" --output-on-failure "$@" || rc=1

	if [[ ${RIDESHARE_NO_ASAN-} == 1 ]]; then
		rs_say "test: sanitizer run skipped (RIDESHARE_NO_ASAN=1)"
	elif rs_cmake_cache_has "$RS_BUILD_DIR" RIDESHARE_SANITIZE; then
		rs_say "test: unit + asan-labelled system tests under ASan/UBSan in $asan_dir"
		if rs_build_dir "$asan_dir" -DRIDESHARE_SANITIZE=ON; then
			ctest --test-dir "$asan_dir" --output-on-failure -L 'unit|asan' "$@" || rc=1
		else
			rs_err "test: sanitizer build failed"
			rc=1
		fi
	else
		rs_say "test: no RIDESHARE_SANITIZE option in the CMake cache; sanitizer run skipped"
	fi

	if ((rc)); then
		rs_err "test: FAILED"
	else
		rs_say "test: all passed"
	fi
	return "$rc"
}
