#!/usr/bin/env bash
# Lint, type-check, build the installable app when its smoke tests run, and run every test layer.
# Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
# The lab's programs (ip, tc, nft) live in /usr/sbin, which Debian leaves out of PATH for `su`
# without `-` and for normal users.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy

# Whether this run includes tests/bundle: the whole suite (no test paths given), or paths that
# name it. (An option's value that looks like a test path counts as one; that only costs a build.)
includes_bundle_tests() {
  local arg paths=0
  for arg in "$@"; do
    case "$arg" in
      tests|tests/|./tests|./tests/|tests/bundle*|./tests/bundle*) return 0 ;;
      -*) ;;
      tests/*|./tests/*|*.py|*::*) paths=1 ;;
    esac
  done
  [ "$paths" = 0 ]
}

# The smoke tests in tests/bundle run the frozen app, so build it (installer/build.py): ~25 s,
# or a second when nothing it is made from changed since the last run (the cache is outside the
# repository, so it outlives CI's clean clones). TANDEM_BUNDLE=DIR tests a bundle built elsewhere.
if [ -z "${TANDEM_BUNDLE:-}" ] && includes_bundle_tests "$@"; then
  cache="${XDG_CACHE_HOME:-$HOME/.cache}/tandem-bundle"
  if built="$(.venv/bin/python -m installer.build --cache "$cache" --deb-compression zstd)"; then
    export TANDEM_BUNDLE="$built"
  else
    echo "run-tests: building the app bundle failed (its output is above);" \
         "the tests in tests/bundle will fail for want of it" >&2
    export TANDEM_BUNDLE="$cache/the-build-failed"  # never an older bundle from installer/dist
  fi
fi
exec .venv/bin/python -m pytest "$@"
