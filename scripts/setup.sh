#!/usr/bin/env bash
# Set up neuromorph on a fresh Debian machine with Python 3.11: system packages (ngspice and
# its shared library, python3-venv) where missing, then a virtual environment in .venv with the
# package and its test extra.  Idempotent: a second run does no apt work (every system package
# is looked for first) and pip finds everything installed.
#
#   scripts/setup.sh            set up
#   scripts/setup.sh --dry-run  only print the system packages that are missing, change nothing
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi

# PySpice finds libngspice.so through the -dev package's unversioned symlink, which Debian puts
# under the multiarch folder (/usr/lib/x86_64-linux-gnu/).  Found if any one candidate exists:
# the former check listed every candidate to ls, which fails when any one is missing.
have_libngspice() {
  local candidate
  for candidate in /usr/lib/*/libngspice.so /usr/lib/libngspice.so /usr/local/lib/libngspice.so; do
    if [ -e "$candidate" ]; then return 0; fi
  done
  return 1
}

need=()
command -v ngspice >/dev/null 2>&1 || need+=(ngspice)
have_libngspice || need+=(libngspice0-dev)
python3 -c "import ensurepip, venv" >/dev/null 2>&1 || need+=(python3-venv)
if [ "${1:-}" = "--dry-run" ]; then
  echo "setup: missing system packages: ${need[*]:-none}"
  exit 0
fi
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]} with apt-get"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}"
fi

if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e '.[test]'
echo "setup: ready (.venv, $(.venv/bin/python --version), ngspice $(ngspice --version 2>/dev/null | grep -o 'ngspice-[0-9]*' | head -1))"
