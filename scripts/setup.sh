#!/usr/bin/env bash
# Sets up everything Tandem needs on this machine: system packages (when root and missing) and a
# virtual environment in .venv with the app and its development tools. Safe to run again; when
# nothing changed it takes about a second and needs no network.
#   scripts/setup.sh          # app + tests
#   TANDEM_SKIP_APT=1 ...     # never touch system packages
#   PYTHON=python3.12 ...     # make .venv with another Python (3.11 or newer)
set -euo pipefail
trap 'echo "setup: failed: $BASH_COMMAND (line $LINENO of scripts/setup.sh)" >&2' ERR
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"

# What each group is for, so a person without root knows what to ask for.
RUNTIME_PKGS=(libportaudio2 libegl1 libgl1 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
              libxcb-keysyms1 libxcb-shape0 libxcb-randr0 libxcb-render-util0 libxcb-image0
              libxcb-xinerama0 libdbus-1-3 fontconfig fonts-dejavu-core)
LAB_PKGS=(pulseaudio pulseaudio-utils nftables iproute2 procps xvfb coturn chromium chromium-driver
          libatomic1)  # libatomic1: the node that Playwright (the e2e tests' driver) ships needs it
# The installable app (./dev.sh bundle): strip for Python's debug symbols, dpkg-deb for the .deb
# (dpkg itself is on every Debian system; binutils has strip).
BUNDLE_PKGS=(binutils)
# Debian's and Ubuntu's python3 makes no virtual environment without python3-venv (ensurepip).
# Asked for only when $PYTHON cannot make one, so a pyenv or python.org Python is left alone.
PYTHON_PKGS=()
if ! command -v "$PYTHON" >/dev/null || ! "$PYTHON" -c "import ensurepip, venv" 2>/dev/null; then
  PYTHON_PKGS=(python3 python3-venv)
fi

# Runs apt-get as root, or with sudo when that needs no password. Its output goes to a log that is
# shown only when it fails; nothing asks a question (noninteractive, so no tzdata prompt either).
# A package this system's archive does not have (Ubuntu has no `chromium` .deb, only a snap) is
# named and left out rather than failing the others.
apt_install() {
  local as_root=() log pkg policy started available=() unavailable=()
  [ "$(id -u)" = "0" ] || as_root=(sudo)
  local apt=("${as_root[@]}" env DEBIAN_FRONTEND=noninteractive LC_ALL=C apt-get
             -o DPkg::Lock::Timeout=300 -q)
  log="$(mktemp)"
  if "${apt[@]}" update >"$log" 2>&1; then
    for pkg in "$@"; do
      policy="$(LC_ALL=C apt-cache policy "$pkg" 2>/dev/null || true)"
      if [[ "$policy" =~ Candidate:\ [^\(] ]]; then
        available+=("$pkg")
      else
        unavailable+=("$pkg")
      fi
    done
    if [ "${#unavailable[@]}" -gt 0 ]; then
      echo "setup: not in this system's package archive, so not installed: ${unavailable[*]}" >&2
    fi
    if [ "${#available[@]}" -eq 0 ]; then
      rm -f "$log"
      return 0
    fi
    started=$SECONDS
    if "${apt[@]}" -y install "${available[@]}" >>"$log" 2>&1; then
      rm -f "$log"
      echo "setup: system packages installed in $((SECONDS - started)) s" >&2
      return 0
    fi
  fi
  cat "$log" >&2
  rm -f "$log"
  echo "setup: installing the system packages failed (apt-get's output is above)" >&2
  exit 1
}

missing=()
if command -v dpkg-query >/dev/null; then
  for pkg in "${PYTHON_PKGS[@]}" "${RUNTIME_PKGS[@]}" "${LAB_PKGS[@]}" "${BUNDLE_PKGS[@]}"; do
    [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" = "install ok installed" ] \
      || missing+=("$pkg")
  done
fi
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "${TANDEM_SKIP_APT:-0}" = "1" ]; then
    echo "setup: skipping system packages (TANDEM_SKIP_APT=1); missing: ${missing[*]}" >&2
  elif command -v apt-get >/dev/null \
       && { [ "$(id -u)" = "0" ] || { command -v sudo >/dev/null && sudo -n true 2>/dev/null; }; }; then
    echo "setup: installing system packages (a few minutes the first time): ${missing[*]}" >&2
    apt_install "${missing[@]}"
  else
    echo "setup: these system packages are missing and cannot be installed from here:" >&2
    echo "         ${missing[*]}" >&2
    echo "       The app needs: libportaudio2 (microphone, speaker) and the xcb libraries (window)." >&2
    echo "       Only the test lab and the bundle need the rest. Install with:" >&2
    echo "       sudo apt-get install ${missing[*]}" >&2
  fi
elif ! command -v dpkg-query >/dev/null && [ "${TANDEM_SKIP_APT:-0}" != "1" ]; then
  echo "setup: not a Debian/Ubuntu system, so system packages are not checked; the app needs" >&2
  echo "       PortAudio and Qt's xcb libraries, the test lab the programs named in this script." >&2
fi

if ! command -v "$PYTHON" >/dev/null; then
  echo "setup: no '$PYTHON' here. Install Python 3.11 or newer (Debian/Ubuntu: python3 python3-venv)," >&2
  echo "       or name one with PYTHON=/path/to/python3.11 $0" >&2
  exit 1
fi
if ! "$PYTHON" -c "import sys; sys.exit(sys.version_info < (3, 11))"; then
  echo "setup: Tandem needs Python 3.11 or newer; '$PYTHON' is $("$PYTHON" -V 2>&1)." >&2
  echo "       Name a newer one with PYTHON=/path/to/python3.11 $0 (and remove .venv if it exists)" >&2
  exit 1
fi

# A .venv left half-made (an interrupted or failed earlier run, or its Python since removed) is
# made again rather than failing the same way every time.
if [ -e .venv ] && ! .venv/bin/python -m pip --version >/dev/null 2>&1; then
  echo "setup: .venv is incomplete; making it again" >&2
  rm -rf .venv
fi
if [ ! -e .venv ]; then
  echo "setup: making the virtual environment in .venv" >&2
  if ! "$PYTHON" -m venv .venv; then
    rm -rf .venv
    echo "setup: '$PYTHON -m venv' failed. On Debian/Ubuntu install python3-venv (as root:" >&2
    echo "       apt-get install python3-venv), then run this again." >&2
    exit 1
  fi
fi

# pip runs only when pyproject.toml (or the venv's Python) changed since it last succeeded, so a
# second run is fast and works offline. Editable install: edits under app/ need no reinstall.
stamp=.venv/.tandem-setup-stamp
want="$(.venv/bin/python -c "import hashlib, sys
print(sys.version.split()[0], hashlib.sha256(open('pyproject.toml', 'rb').read()).hexdigest())")"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "setup: installing the Python packages into .venv" >&2
started=$SECONDS
# pip's output goes to a log (this machine's pip config is chatty); shown only when it fails.
log=.venv/setup-pip.log
# pip 24.2 and later trust the system's certificates as well as their own; the older pip in a new
# venv (23.0 on Debian 12) only its own, so behind a proxy whose CA is in the system store it cannot
# even upgrade itself. That first upgrade uses the system bundle unless pip is told otherwise.
bootstrap_env=()
if [ -z "${PIP_CERT:-}" ] && [ -r /etc/ssl/certs/ca-certificates.crt ] \
   && [[ "$(.venv/bin/python -m pip config list 2>/dev/null || true)" != *.cert=* ]]; then
  bootstrap_env=(PIP_CERT=/etc/ssl/certs/ca-certificates.crt)
fi
if ! { env "${bootstrap_env[@]}" .venv/bin/python -m pip install -q --upgrade pip \
       && .venv/bin/python -m pip install -q -e ".[dev]"; } >"$log" 2>&1; then
  grep -v "^WARNING: Location" "$log" >&2 || true
  echo "setup: installing the Python packages failed (full log: $log)" >&2
  exit 1
fi
echo "$want" >"$stamp"
echo "setup: Python packages installed in $((SECONDS - started)) s" >&2
