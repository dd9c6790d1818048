#!/usr/bin/env bash
# Creates (or reuses) the Python venv holding the AWS CLI v1 that benches/aws_refresh.rs times.
#
# Idempotent: packages are (re)installed only when requirements.txt or the Python version
# changed since the last successful install (stamp file in the venv).
#
#   venv:   ${WATCHFLOOR_AWSCLI_VENV:-<repo>/target/awscli-venv}
#   python: ${WATCHFLOOR_PYTHON:-python3}   (3.9 or newer)
#
# On success the last stdout line is `WATCHFLOOR_AWSCLI=<venv>/bin/aws`.
# On failure it prints one line starting with "watchfloor-awscli setup: ERROR:" to stderr
# and exits non-zero.
set -euo pipefail

fail() {
    echo "watchfloor-awscli setup: ERROR: $*" >&2
    exit 1
}

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
repo="$(cd "$here/../../.." && pwd -P)"
[ -f "$repo/Cargo.toml" ] || fail "expected the repo root at $repo (no Cargo.toml there)"

venv="${WATCHFLOOR_AWSCLI_VENV:-$repo/target/awscli-venv}"
py="${WATCHFLOOR_PYTHON:-python3}"
req="$here/requirements.txt"

command -v "$py" >/dev/null 2>&1 || fail "'$py' not found; install Python 3.9+ (Debian: apt-get install python3 python3-venv)"
[ -f "$req" ] || fail "missing $req"
"$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' \
    || fail "$py is $("$py" -V 2>&1); need Python 3.9 or newer"

mkdir -p "$(dirname "$venv")" || fail "cannot create $(dirname "$venv")"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$venv.lock"
    flock 9
fi

pyver="$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
want="$( { cat "$req"; echo "python=$pyver"; } | sha256sum | cut -d' ' -f1)"
stamp="$venv/.watchfloor-requirements.sha256"
vpy="$venv/bin/python"
aws="$venv/bin/aws"

if [ -x "$vpy" ] && [ -x "$aws" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "WATCHFLOOR_AWSCLI=$aws"
    exit 0
fi

# Another Python version, or a half-made venv: start from scratch (nothing else lives there).
rm -rf "$venv"
"$py" -m venv "$venv" >/dev/null 2>&1 \
    || fail "'$py -m venv $venv' failed (Debian: apt-get install python3-venv)"
"$vpy" -m pip --version >/dev/null 2>&1 \
    || fail "pip is not available in $venv (Debian: apt-get install python3-venv python3-pip)"

log="$venv/pip-install.log"
echo "watchfloor-awscli setup: installing $(grep -c '^[^#].*==' "$req") pinned packages into $venv (log: $log)" >&2
if ! "$vpy" -m pip install --disable-pip-version-check --no-input -r "$req" >"$log" 2>&1; then
    fail "pip install -r $req failed; last line: $(tail -n 1 "$log")  (full log: $log)"
fi
"$aws" --version >/dev/null 2>&1 || fail "packages installed but '$aws --version' fails"
echo "$want" >"$stamp"
echo "WATCHFLOOR_AWSCLI=$aws"
