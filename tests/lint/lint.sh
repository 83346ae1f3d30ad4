#!/usr/bin/env bash
# ctest "lint" (label lint): shellcheck on every shell script of the tree and
# clang-format --dry-run --Werror (the root .clang-format) on every C file.
# Any finding fails the test. Both tools come with `./rideshare deps`.
#
#   tests/lint/lint.sh [SOURCE_DIR]
# Environment:
#   RIDESHARE_LINT_SHELL=0   skip the shellcheck part
#   RIDESHARE_LINT_FORMAT=0  skip the clang-format part (to land the test before
#                            the tree is formatted; default on)
set -euo pipefail

root=$(realpath -- "${1:-$(dirname "$(realpath "${BASH_SOURCE[0]}")")/../..}")
cd "$root"

# shellcheck source=scripts/lib/tree.sh
source "$root/scripts/lib/tree.sh"

# True when FILE is a shell script: *.sh, a sh/bash shebang, or a
# `# shellcheck shell=` directive on its first line (sourced fragments).
is_shell() {
	local first=
	[[ $1 == *.sh ]] && return 0
	IFS= read -r first <"$1" 2>/dev/null || [[ -n $first ]] || return 1
	[[ $first =~ ^#!(/usr)?/bin/(env[[:space:]]+)?(ba|da)?sh([[:space:]]|$) ]] && return 0
	[[ $first =~ ^#[[:space:]]*shellcheck[[:space:]]+shell= ]]
}

shell_files=()
c_files=()
while IFS= read -r -d '' f; do
	[[ -f $f && ! -L $f ]] || continue # listed but deleted in the work tree
	case $f in
	*.c | *.h) c_files+=("$f") ;;
	*.py | *.md | *.json | *.yml | *.yaml | *.lua | *.csv | *.proto | *.patch | *.txt | *.cmake) ;;
	*) is_shell "$f" && shell_files+=("$f") ;;
	esac
done < <(rs_tree_files "$root" | sort -z)

rc=0

if [[ ${RIDESHARE_LINT_SHELL:-1} == 0 ]]; then
	echo "lint: shellcheck skipped (RIDESHARE_LINT_SHELL=0)"
elif ! command -v shellcheck >/dev/null; then
	echo "lint: FAIL: shellcheck not installed (./rideshare deps installs it)"
	rc=1
else
	# -x follows `source` lines (paths relative to the root, where we are),
	# so functions defined in sourced files are known where they are used.
	if shellcheck -x -f gcc "${shell_files[@]}"; then
		echo "lint: shellcheck: ${#shell_files[@]} scripts clean"
	else
		echo "lint: FAIL: shellcheck findings above (${#shell_files[@]} scripts checked)"
		rc=1
	fi
fi

if [[ ${RIDESHARE_LINT_FORMAT:-1} == 0 ]]; then
	echo "lint: clang-format skipped (RIDESHARE_LINT_FORMAT=0)"
elif ! command -v clang-format >/dev/null; then
	echo "lint: FAIL: clang-format not installed (./rideshare deps installs it)"
	rc=1
elif [[ ! -f .clang-format ]]; then
	echo "lint: FAIL: no .clang-format at $root"
	rc=1
else
	bad=()
	for f in "${c_files[@]}"; do
		clang-format --style=file --dry-run --Werror "$f" >/dev/null 2>&1 || bad+=("$f")
	done
	if ((${#bad[@]})); then
		echo "lint: FAIL: ${#bad[@]} of ${#c_files[@]} C files are not clang-formatted:"
		printf '  %s\n' "${bad[@]}"
		echo "lint: fix with: clang-format -i FILE... (the files above)"
		# The first file's diff-like report, so the kind of finding is visible.
		clang-format --style=file --dry-run "${bad[0]}" 2>&1 | head -n 20
		rc=1
	else
		echo "lint: clang-format: ${#c_files[@]} C files clean"
	fi
fi

exit "$rc"
