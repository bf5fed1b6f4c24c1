#!/usr/bin/env bash
# Idempotent set-up of skycall on Debian 12: system packages (as root, only when missing),
# the .venv, the project in editable mode, and Debian's SoapySDR bindings linked into the venv.
# A second run changes nothing and takes seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

DEB_PKGS=(libiio0 libopus0 python3-soapysdr soapysdr-module-hackrf espeak-ng sox build-essential libvolk2.5)
PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.skycall-installed

missing=()
for p in "${DEB_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  if [ "$(id -u)" = 0 ]; then
    echo "bootstrap: installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "bootstrap: missing Debian packages: ${missing[*]}" >&2
    echo "bootstrap: run as root, or: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "bootstrap: creating $VENV"
  "$PY" -m venv "$VENV"
fi

# Reinstall only when the dependency list changed.
want=$(sha256sum pyproject.toml | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "bootstrap: installing Python packages into $VENV (first run takes a few minutes)"
  "$VENV/bin/python" -m pip install -q --upgrade pip wheel setuptools
  "$VENV/bin/python" -m pip install -q -e '.[dev]'
  echo "$want" > "$STAMP"
fi

# SoapySDR has no PyPI wheel: link Debian's CPython 3.11 bindings into the venv.
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for f in /usr/lib/python3/dist-packages/SoapySDR.py /usr/lib/python3/dist-packages/_SoapySDR*.so; do
  [ -e "$f" ] || continue
  [ -e "$site/$(basename "$f")" ] || ln -s "$f" "$site/$(basename "$f")"
done
echo "bootstrap: ready ($VENV)"
