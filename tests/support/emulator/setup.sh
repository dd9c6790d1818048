#!/usr/bin/env bash
# Creates (or reuses) the Python venv that runs the watchfloor AWS test emulator.
#
# Idempotent: packages are (re)installed only when requirements.txt or the Python
# version changed since the last successful install (stamp file in the venv).
#
#   venv:   ${WATCHFLOOR_EMULATOR_VENV:-<repo>/target/emulator-venv}
#   python: ${WATCHFLOOR_PYTHON:-python3}   (3.9 or newer)
#
# On success the last stdout line is `WATCHFLOOR_EMULATOR_PYTHON=<venv python>`.
# On failure it prints one line starting with "watchfloor-emulator setup: ERROR:"
# to stderr and exits non-zero.
set -euo pipefail

fail() {
    echo "watchfloor-emulator setup: ERROR: $*" >&2
    exit 1
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"

# The repo root is the nearest ancestor holding Cargo.toml (this folder is
# <repo>/tests/support/emulator); fall back to three levels up.
repo=""
dir="$here"
while [ "$dir" != "/" ]; do
    dir="$(dirname "$dir")"
    if [ -f "$dir/Cargo.toml" ]; then repo="$dir"; break; fi
done
[ -n "$repo" ] || repo="$(cd "$here/../../.." && pwd -P)"

venv="${WATCHFLOOR_EMULATOR_VENV:-$repo/target/emulator-venv}"
py="${WATCHFLOOR_PYTHON:-python3}"
req="$here/requirements.txt"

command -v "$py" >/dev/null 2>&1 || fail "'$py' not found; install Python 3.9+ (Debian: apt-get install python3 python3-venv)"
[ -f "$req" ] || fail "missing $req"
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
    || fail "$py is $("$py" -V 2>&1); need Python 3.9 or newer"

mkdir -p "$(dirname "$venv")" || fail "cannot create $(dirname "$venv")"

# Serialise concurrent setups (parallel test binaries) on the same venv.
if command -v flock >/dev/null 2>&1; then
    exec 9>"$venv.lock"
    flock 9
fi

pyver="$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
want="$( { cat "$req"; echo "python=$pyver"; } | sha256sum | cut -d' ' -f1)"
stamp="$venv/.watchfloor-requirements.sha256"
vpy="$venv/bin/python"

if [ -x "$vpy" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "WATCHFLOOR_EMULATOR_PYTHON=$vpy"
    exit 0
fi

# A venv from another Python version (or a half-made one) is rebuilt from scratch.
if [ -e "$venv" ] && { [ ! -x "$vpy" ] || [ "$("$vpy" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])' 2>/dev/null)" != "$pyver" ]; }; then
    rm -rf "$venv"
fi
if [ ! -x "$vpy" ]; then
    "$py" -m venv "$venv" >/dev/null 2>&1 \
        || fail "'$py -m venv $venv' failed (Debian: apt-get install python3-venv)"
fi
"$vpy" -m pip --version >/dev/null 2>&1 \
    || fail "pip is not available in $venv (Debian: apt-get install python3-venv python3-pip)"

log="$venv/pip-install.log"
echo "watchfloor-emulator setup: installing $(grep -c '==' "$req") pinned packages into $venv (log: $log)" >&2
if ! "$vpy" -m pip install --disable-pip-version-check --no-input -r "$req" >"$log" 2>&1; then
    rm -f "$stamp"
    fail "pip install -r $req failed; last line: $(tail -n 1 "$log")  (full log: $log)"
fi
"$vpy" -c 'import moto, cbor2, werkzeug, boto3' >/dev/null 2>&1 \
    || fail "packages installed but 'import moto, cbor2, werkzeug, boto3' fails in $venv"
echo "$want" >"$stamp"
echo "WATCHFLOOR_EMULATOR_PYTHON=$vpy"
