#!/usr/bin/env bash
# Sets up NeuralForge and runs one job.
#   installers/setup.sh run    set up, then start the app (with no display: the headless demo)
#   installers/setup.sh test   set up, then run the linter, the type checker and the whole test suite
#   installers/setup.sh env    set up only; prints the virtual environment's path
#
# The virtual environment lives outside the clone, keyed by a hash of the pinned requirements, so repeat
# runs (and CI on a fresh clone) reuse it; a fresh machine builds it in one pip pass (~3 min, ~4.6 GB).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
JOB=${1:-run}
shift || true
cd "$ROOT"

pick_python() {
  for candidate in python3.11 python3 python; do
    if command -v "$candidate" >/dev/null 2>&1 &&
      "$candidate" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else 1)' 2>/dev/null; then
      echo "$candidate"
      return
    fi
  done
  echo "NeuralForge needs Python 3.11 (python3.11 on PATH)" >&2
  exit 1
}

install_system_packages() {
  # Debian packages from installers/apt-packages.txt (Fashion-MNIST …); needs root or passwordless sudo.
  local missing=()
  while read -r pkg; do
    [ -z "$pkg" ] || [ "${pkg:0:1}" = "#" ] && continue
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done < installers/apt-packages.txt
  [ ${#missing[@]} -eq 0 ] && return
  command -v apt-get >/dev/null 2>&1 || { echo "note: not a Debian system; skipping ${missing[*]}" >&2; return; }
  local sudo=""
  if [ "$(id -u)" != 0 ]; then
    if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
      echo "note: run as root to install ${missing[*]} (apt-get install ${missing[*]})" >&2; return
    fi
  fi
  echo "installing Debian packages: ${missing[*]}" >&2
  $sudo apt-get update -qq >/dev/null || true
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

install_system_packages
PYTHON=$(pick_python)
KEY=$(cat constraints.txt pyproject.toml plugins/*/pyproject.toml installers/setup.sh | sha256sum | cut -c1-16)
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/neuralforge/venvs
VENV=$CACHE_ROOT/$KEY

if [ ! -f "$VENV/.complete" ]; then
  echo "setting up the Python environment in $VENV (one time, a few minutes)" >&2
  rm -rf "$VENV"
  mkdir -p "$CACHE_ROOT"
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  # One resolver pass for the whole stack: piecemeal installs break the typing-extensions/cattrs balance.
  "$VENV/bin/python" -m pip install --quiet -c constraints.txt -e ".[all,dev,bundle]" -e plugins/neuralforge-example-layers
  "$VENV/bin/python" -m pip check
  touch "$VENV/.complete"
fi
# Point the editable installs at this clone (cheap; the cached environment may have served another one).
"$VENV/bin/python" -m pip install --quiet --no-deps --no-build-isolation -e . -e plugins/neuralforge-example-layers
ln -sfn "$VENV" "$ROOT/.venv"
export PATH="$VENV/bin:$PATH"

case "$JOB" in
  env)
    echo "$VENV"
    ;;
  run)
    exec neuralforge start "$@"
    ;;
  test)
    ruff check .
    python -m mypy  # the core and the plugin API; files and strictness in pyproject.toml [tool.mypy]
    # loadscope: a module's tests go to one worker (the desktop bundle's share one build, which a second worker
    # would only wait for); in collection order, where the conftest puts the modules with slow tests first.
    # A crashed worker fails its test and ends the run: it is not replaced, because under loadscope the new
    # worker re-runs the crashed test and the run can wait forever for a lost module. Each worker writes the
    # Python stacks of a crash (faulthandler, all threads) to a file, printed here when the run fails.
    # The suite takes about 15 minutes on 2 cores; a run hung past 45 (a worker lost mid-teardown) is ended red.
    NEURALFORGE_FAULT_LOG=$(mktemp -d)
    export NEURALFORGE_FAULT_LOG
    status=0
    timeout --kill-after=30 2700 python -m pytest -p no:faulthandler -n 2 --dist loadscope --no-loadscope-reorder \
      --max-worker-restart=0 -q --durations=25 "$@" || status=$?
    if [ "$status" -ne 0 ]; then
      for log in "$NEURALFORGE_FAULT_LOG"/*.log; do
        if [ -s "$log" ]; then
          echo "=== crash stacks of test worker $(basename "$log" .log) ==="
          grep -v '^Extension modules:' "$log" | tail -n 300  # that line lists hundreds of modules
        fi
      done
    fi
    rm -rf "$NEURALFORGE_FAULT_LOG"
    exit "$status"
    ;;
  *)
    echo "usage: installers/setup.sh run|test|env" >&2
    exit 2
    ;;
esac
