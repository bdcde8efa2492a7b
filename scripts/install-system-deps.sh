#!/usr/bin/env bash
# Install the optional system packages the realistic corpus layers use (Debian/Ubuntu).
#   fluidsynth + fluid-soundfont-gm  -> MIDI rendering of real compositions (harness/corpus/midi.py)
#   sonic-pi-samples                 -> recorded drum loops / hits / instrument samples (recorded.py)
#   espeak-ng                        -> spoken/sung voice phrases (recorded.py)
# Idempotent: does nothing when every package is already installed. Every layer degrades to
# the procedural synth when its package is missing, so this script is optional for the tests.
set -euo pipefail

PACKAGES=(fluidsynth fluid-soundfont-gm sonic-pi-samples espeak-ng)
# Extra packages can be added by the caller, e.g. EXTRA_PACKAGES="hyperrogue-music" (the real-music test set).
read -r -a EXTRA <<< "${EXTRA_PACKAGES:-}"
PACKAGES+=("${EXTRA[@]}")

missing=()
for pkg in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "system deps: all installed (${PACKAGES[*]})"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "system deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive

# Refresh the package lists only when one of the packages has no install candidate.
need_update=0
for pkg in "${missing[@]}"; do
  cand=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then need_update=1; break; fi
done
if [ "$need_update" -eq 1 ]; then
  $SUDO apt-get update -qq
fi

echo "system deps: installing ${missing[*]}"
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "system deps: done"
