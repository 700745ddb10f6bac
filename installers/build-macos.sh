#!/usr/bin/env bash
# Builds the macOS desktop app: dist/NeuralForge.app (one folder inside an .app bundle), and with --dmg a disk
# image dist/NeuralForge-VERSION-macos-ARCH.dmg to drag it into Applications. Run on a Mac, from a clone with
# Python 3.11; the environment comes from installers/setup.sh (it needs a macOS torch wheel, so the pins'
# CPU torch from Linux does not apply) unless NEURALFORGE_PYTHON names an interpreter that has PyInstaller.
# Not built or run on the development machine (Linux): see installers/README.md.
#   installers/build-macos.sh [--dmg]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DMG=0
[ "${1:-}" = "--dmg" ] && DMG=1
cd "$ROOT"

PYTHON=${NEURALFORGE_PYTHON:-$ROOT/.venv/bin/python}
if ! "$PYTHON" -c 'import PyInstaller' 2>/dev/null; then
  PYTHON=$("$ROOT/installers/setup.sh" env)/bin/python
fi

PYTHONPATH="$ROOT:$ROOT/plugins/neuralforge-example-layers" "$PYTHON" -m PyInstaller --noconfirm --log-level WARN \
  --distpath "$ROOT/dist" --workpath "$ROOT/build/pyinstaller" installers/neuralforge.spec
APP=$ROOT/dist/NeuralForge.app
VERSION=$("$APP/Contents/MacOS/neuralforge" --version | cut -d' ' -f2)
echo "built $APP ($(du -sh "$APP" | cut -f1)); the command line: $APP/Contents/MacOS/neuralforge"

if [ "$DMG" = 1 ]; then
  STAGE=$(mktemp -d)
  cp -R "$APP" "$STAGE/"
  ln -s /Applications "$STAGE/Applications"
  IMAGE=$ROOT/dist/NeuralForge-$VERSION-macos-$(uname -m).dmg
  rm -f "$IMAGE"
  hdiutil create -volname "NeuralForge $VERSION" -srcfolder "$STAGE" -format UDZO -ov "$IMAGE"
  rm -rf "$STAGE"
  echo "disk image: $IMAGE"
fi
# Unsigned: Gatekeeper asks the user to confirm the first start (right-click → Open). Signing and
# notarising need an Apple Developer ID: codesign --deep --options runtime, then xcrun notarytool.
