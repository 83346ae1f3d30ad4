# shellcheck shell=bash
# The files of the source tree below ROOT, NUL-separated and relative to it:
# git's list in a checkout (tracked files plus new ones not ignored, never
# build dirs), else a find that skips the usual build and state dirs (a
# tarball, or a copy in a container). Used by tests/lint/lint.sh and
# tests/fresh/fresh-machine.sh.
#
#   rs_tree_files ROOT
rs_tree_files() {
	if git -C "$1" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$1" ls-files -z --cached --others --exclude-standard
	else
		(cd "$1" && find . -type d \( -name .git -o -path './build*' -o -path ./.stack -o -name __pycache__ \) -prune \
			-o -type f -printf '%P\0')
	fi
}
