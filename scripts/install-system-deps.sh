#!/usr/bin/env bash
# Install the optional system packages the realistic corpus layers use (Debian/Ubuntu).
#   fluidsynth + fluid-soundfont-gm  -> MIDI rendering of real compositions (harness/corpus/midi.py)
#   sonic-pi-samples                 -> recorded drum loops / hits / textures (harness/corpus/samples_and_voices.py)
#   espeak-ng                        -> spoken voice phrases (harness/corpus/samples_and_voices.py)
#   hyperrogue-music                 -> finished soundtracks: the recorded TEST set of `--recorded` (57 MB)
#   chromium                         -> the browser latency target (harness/latency/browser/), driven by
#                                       Playwright; its runtime comes from npm: `dawg-bench latency --setup-browser`
# Idempotent and quiet: does nothing when every package is already installed. Every layer falls
# back to the procedural synth when its package is missing, so the tests pass without them.
# EXTRA_PACKAGES="hyperrogue-music" adds packages (e.g. the real-music test set for evaluation).
set -euo pipefail

# hyperrogue-music: finished game soundtracks, the recorded TEST set (never used for generation or training).
PACKAGES=(fluidsynth fluid-soundfont-gm sonic-pi-samples espeak-ng hyperrogue-music chromium)
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
if ! command -v apt-get >/dev/null 2>&1; then
  echo "system deps: no apt-get here; install by hand: ${missing[*]} (the corpus falls back to synth parts)" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "system deps: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# Refresh the package lists only when a package has no install candidate (empty or stale lists).
for pkg in "${missing[@]}"; do
  cand=$(apt-cache policy "$pkg" 2>/dev/null | awk '/Candidate:/ {print $2}')
  if [ -z "$cand" ] || [ "$cand" = "(none)" ]; then
    $SUDO apt-get update -qq >"$log" 2>&1 || { cat "$log" >&2; exit 1; }
    break
  fi
done

echo "system deps: installing ${missing[*]}"
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  cat "$log" >&2
  exit 1
fi
echo "system deps: done"
