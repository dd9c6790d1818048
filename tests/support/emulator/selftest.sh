#!/usr/bin/env bash
# Sets up the emulator venv (if needed) and runs the emulator's self-test.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)"
py="$(bash "$here/setup.sh" | sed -n 's/^WATCHFLOOR_EMULATOR_PYTHON=//p' | tail -n 1)"
[ -n "$py" ] || { echo "watchfloor-emulator selftest: ERROR: setup.sh gave no python" >&2; exit 1; }
exec "$py" "$here/selftest.py" "$@"
