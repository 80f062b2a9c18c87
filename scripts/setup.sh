#!/usr/bin/env bash
# Sets up everything Tandem needs on this machine: system packages (when root and missing) and a
# virtual environment in .venv with the app and its development tools. Safe to run again.
#   scripts/setup.sh          # app + tests
#   TANDEM_SKIP_APT=1 ...     # never touch system packages
set -euo pipefail
cd "$(dirname "$0")/.."

# What each group is for, so a person without root knows what to ask for.
RUNTIME_PKGS=(libportaudio2 libegl1 libgl1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
              libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0
              libxcb-xinerama0 libdbus-1-3 fontconfig fonts-dejavu-core)
LAB_PKGS=(pulseaudio pulseaudio-utils nftables iproute2 xvfb coturn chromium chromium-driver)

missing=()
for pkg in "${RUNTIME_PKGS[@]}" "${LAB_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "${TANDEM_SKIP_APT:-0}" = "1" ]; then
    echo "setup: skipping system packages (TANDEM_SKIP_APT=1); missing: ${missing[*]}" >&2
  elif [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "setup: installing system packages: ${missing[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v apt-get >/dev/null && command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    echo "setup: installing system packages with sudo: ${missing[*]}" >&2
    sudo apt-get update -qq
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: these system packages are missing and cannot be installed from here:" >&2
    echo "         ${missing[*]}" >&2
    echo "       The app needs: libportaudio2 (microphone, speaker) and the xcb libraries (window)." >&2
    echo "       Only the test lab needs the rest. Install with: sudo apt-get install ${missing[*]}" >&2
  fi
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
# pip's output goes to a log (this machine's pip config is chatty); shown only when it fails.
log=.venv/setup-pip.log
if ! { .venv/bin/python -m pip install -q --upgrade pip && .venv/bin/python -m pip install -q -e ".[dev]"; } >"$log" 2>&1; then
  grep -v "^WARNING: Location" "$log" >&2 || true
  echo "setup: installing the Python packages failed (full log: $log)" >&2
  exit 1
fi
