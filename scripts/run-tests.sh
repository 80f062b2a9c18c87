#!/usr/bin/env bash
# Lint, type-check and run every test layer. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM=offscreen
# The lab's programs (ip, tc, nft) live in /usr/sbin, which Debian leaves out of PATH for `su`
# without `-` and for normal users.
case ":$PATH:" in *:/usr/sbin:*) ;; *) PATH="$PATH:/usr/sbin:/sbin" ;; esac
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
exec .venv/bin/python -m pytest "$@"
