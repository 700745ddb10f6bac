#!/usr/bin/env bash
# Builds the Linux desktop bundle: a self-contained folder, dist/neuralforge/, with the `neuralforge`
# program (the CLI; `neuralforge` alone opens the editor), a .desktop launcher and install-desktop-entry.sh.
#   installers/build-linux.sh                  build into dist/neuralforge
#   installers/build-linux.sh --tar            also pack dist/neuralforge-VERSION-linux-ARCH.tar.gz
#   installers/build-linux.sh --dist DIR       build into DIR/neuralforge (work files go to DIR/../pyinstaller)
# Uses the clone's .venv when it has PyInstaller, otherwise sets one up with installers/setup.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DIST=$ROOT/dist
WORK=$ROOT/build/pyinstaller
TAR=0
while [ $# -gt 0 ]; do
  case "$1" in
    --tar) TAR=1 ;;
    --dist) DIST=$(mkdir -p "$2" && cd "$2" && pwd); WORK=$(dirname "$DIST")/pyinstaller; shift ;;
    *) echo "usage: installers/build-linux.sh [--tar] [--dist DIR]" >&2; exit 2 ;;
  esac
  shift
done
cd "$ROOT"

PYTHON=${NEURALFORGE_PYTHON:-$ROOT/.venv/bin/python}
if ! "$PYTHON" -c 'import PyInstaller' 2>/dev/null; then
  PYTHON=$("$ROOT/installers/setup.sh" env)/bin/python
fi

started=$(date +%s)
# The clone's own sources (and its example plugin) come first, whatever the environment has installed.
PYTHONPATH="$ROOT:$ROOT/plugins/neuralforge-example-layers" "$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$DIST" --workpath "$WORK" installers/neuralforge.spec
BUNDLE=$DIST/neuralforge
cp installers/linux/neuralforge.desktop installers/linux/install-desktop-entry.sh "$BUNDLE/"

VERSION=$("$BUNDLE/neuralforge" --version | cut -d' ' -f2)
if [ "$TAR" = 1 ]; then
  ARCHIVE=$DIST/neuralforge-$VERSION-linux-$(uname -m).tar.gz
  tar -C "$DIST" -czf "$ARCHIVE" neuralforge
  echo "archive: $ARCHIVE ($(du -h "$ARCHIVE" | cut -f1))"
fi
echo "built NeuralForge $VERSION in $(( $(date +%s) - started )) s: $BUNDLE ($(du -sh "$BUNDLE" | cut -f1))"
echo "run $BUNDLE/neuralforge; add it to the application menu with $BUNDLE/install-desktop-entry.sh"
