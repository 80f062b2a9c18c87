#!/usr/bin/env bash
# The two quick-start commands (see README.md):
#   ./dev.sh app    set everything up, then open Tandem (practice mode without a clinic profile)
#   ./dev.sh test   set everything up, then run the whole test suite
#   ./dev.sh bundle set everything up, then build the installable app (installer/README.md)
set -euo pipefail
cd "$(dirname "$0")"
setup() {
  if ! scripts/setup.sh; then
    echo "dev.sh: scripts/setup.sh failed (its message is above), so nothing else ran." >&2
    exit 1
  fi
}
what="${1:-}"
shift || true
case "$what" in
  app)
    setup
    if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ] && [ "$(uname)" = "Linux" ]; then
      echo "No display here, so the equipment check runs on the command line instead of the window." >&2
      echo "(On a desktop this command opens the app.)" >&2
      exec .venv/bin/tandem check "$@"
    fi
    exec .venv/bin/tandem "$@"
    ;;
  test)
    setup
    exec scripts/run-tests.sh "$@"
    ;;
  bundle)
    setup
    exec .venv/bin/python -m installer.build "$@"
    ;;
  *)
    echo "usage: ./dev.sh app|test|bundle [args...]" >&2
    exit 64
    ;;
esac
