# Shared settings for the harness scripts; sourced, never run.
# Every path can be overridden from the environment (the Makefile exports them).

TOP=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${CACHE:-/var/cache/pagemap-scan}
BUILD=${BUILD:-$TOP/build}
TREE=${TREE:-$BUILD/linux}

# The project identity used for commits, Signed-off-by and exports.
IDENT_NAME="pagemap-scan developers"
IDENT_EMAIL="pagemap-scan@example.org"
# The series is for 6.1-based vendor and distribution trees, not stable.
SUBJECT_PREFIX="PATCH 6.1.y-vendor"
# A fixed date keeps the base commit and exported cover letters reproducible.
FIXED_DATE="2026-01-01T00:00:00+0000"

export GIT_AUTHOR_NAME="$IDENT_NAME" GIT_AUTHOR_EMAIL="$IDENT_EMAIL"
export GIT_COMMITTER_NAME="$IDENT_NAME" GIT_COMMITTER_EMAIL="$IDENT_EMAIL"

die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

say() {
	echo "==> ${0##*/}: $*"
}
