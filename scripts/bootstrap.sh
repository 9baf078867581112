#!/usr/bin/env bash
# Installs what the gateway, its demo and its tests need on Debian/Ubuntu, only when missing:
# system packages (mosquitto, PulseAudio + ALSA plugin, PortAudio, libopus, a C compiler and
# Python headers for the PESQ extension, Python >= 3.11 with venv) and a .venv.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
apt_updated=0
apt_install() {
  echo "bootstrap: installing system packages: $*"
  if [ $apt_updated -eq 0 ]; then $SUDO apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# A Python >= 3.11 (Debian 12 has 3.11; Ubuntu 22.04 has 3.10 and offers python3.11).
find_python() {
  for cand in python3 python3.13 python3.12 python3.11; do
    if command -v "$cand" >/dev/null 2>&1 && \
       "$cand" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
      echo "$cand"; return 0
    fi
  done
  return 1
}
PY=$(find_python) || { apt_install python3.11 python3.11-venv python3.11-dev; PY=$(find_python); }

need=()
command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || need+=(mosquitto)
command -v mosquitto_passwd >/dev/null 2>&1 || need+=(mosquitto)
command -v pulseaudio >/dev/null 2>&1 || need+=(pulseaudio)
command -v pactl >/dev/null 2>&1 || need+=(pulseaudio-utils)
ls /usr/lib/*/alsa-lib/libasound_module_pcm_pulse.so >/dev/null 2>&1 || need+=(libasound2-plugins)
ldconfig -p | grep -q 'libportaudio.so.2' || need+=(libportaudio2)
ldconfig -p | grep -q 'libopus.so.0' || need+=(libopus0)
"$PY" -c 'import venv, ensurepip' >/dev/null 2>&1 || need+=("$(basename "$PY")-venv")
command -v gcc >/dev/null 2>&1 || need+=(gcc)
# the pesq package compiles a C extension against Python.h
"$PY" -c 'import os, sysconfig; raise SystemExit(not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
  || need+=("$(basename "$PY")-dev")
if [ ${#need[@]} -gt 0 ]; then
  apt_install "${need[@]}"
fi

stamp=.venv/.installed
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  echo "bootstrap: installing Python packages into .venv"
  # (this machine's pip config may point at extra local indexes; their "ignored" notes are noise)
  .venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install -q -e ".[test]" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import gateway, opuslib, sounddevice, pesq, aiomqtt" >/dev/null 2>&1 || \
    .venv/bin/python -m pip install -e ".[test]"   # show the real error if the quiet install failed
  touch "$stamp"
fi
