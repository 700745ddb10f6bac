#!/usr/bin/env bash
# Adds NeuralForge to the desktop's application menu for the current user: the launcher
# (~/.local/share/applications/neuralforge.desktop) and its icon (~/.local/share/icons/hicolor/…), pointing
# at the bundle this script sits in. Move the bundle first, then run this; `--uninstall` removes both.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
DATA=${XDG_DATA_HOME:-$HOME/.local/share}
APPS=$DATA/applications
ICONS=$DATA/icons/hicolor
SIZES="16 24 32 48 64 128 256 512"

if [ "${1:-}" = "--uninstall" ]; then
  rm -f "$APPS/neuralforge.desktop" "$ICONS/scalable/apps/neuralforge.svg"
  for size in $SIZES; do rm -f "$ICONS/${size}x${size}/apps/neuralforge.png"; done
  echo "removed the NeuralForge launcher"
  exit 0
fi

SOURCE=$HERE/_internal/resources/icons
[ -x "$HERE/neuralforge" ] && [ -d "$SOURCE" ] || { echo "run this from inside the NeuralForge bundle" >&2; exit 1; }
mkdir -p "$APPS" "$ICONS/scalable/apps"
cp "$SOURCE/neuralforge.svg" "$ICONS/scalable/apps/neuralforge.svg"
for size in $SIZES; do
  mkdir -p "$ICONS/${size}x${size}/apps"
  cp "$SOURCE/neuralforge-$size.png" "$ICONS/${size}x${size}/apps/neuralforge.png"
done
# Exec needs the absolute path; the desktop spec wants it quoted when it has spaces.
sed "s|^Exec=neuralforge |Exec=\"$HERE/neuralforge\" |" "$HERE/neuralforge.desktop" > "$APPS/neuralforge.desktop"
chmod 644 "$APPS/neuralforge.desktop"
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$APPS" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$ICONS" || true
echo "installed $APPS/neuralforge.desktop (runs $HERE/neuralforge)"
