# Sourced by bin/ccbox and bin/test: make sure the virtual environment and the
# packages a command needs exist, installing only what is missing.
set -euo pipefail

# The clone this script belongs to, also when it is reached through a symbolic link.
CCBOX_ROOT=$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)
VENV="$CCBOX_ROOT/.venv"

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Debian packages, installed only when one of them is missing.
ensure_debs() {
    local missing=()
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' || missing+=("$pkg")
    done
    if [ ${#missing[@]} -gt 0 ]; then
        echo "ccbox: installing Debian packages: ${missing[*]}" >&2
        as_root apt-get update -qq
        DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
    fi
}

# ensure_env [extra]: "test" also installs the test dependencies.
ensure_env() {
    local extra="${1:-}"
    if ! python3 -c 'import venv, ensurepip' 2>/dev/null; then
        ensure_debs python3-venv python3-pip
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        echo "ccbox: creating virtual environment in $VENV" >&2
        python3 -m venv "$VENV"
    fi
    local stamp="$VENV/.ccbox-installed${extra:+-$extra}"
    # The test install is a superset of the plain one.
    if [ -z "$extra" ] && [ -f "$VENV/.ccbox-installed-test" ]; then
        stamp="$VENV/.ccbox-installed-test"
    fi
    # Reinstall when the project's dependency list changes.
    if [ ! -f "$stamp" ] || [ "$CCBOX_ROOT/pyproject.toml" -nt "$stamp" ]; then
        echo "ccbox: installing Python packages${extra:+ ($extra)}" >&2
        local log="$VENV/install.log"
        if ! { "$VENV/bin/python" -m pip install -q --upgrade pip &&
               "$VENV/bin/python" -m pip install -q -e "$CCBOX_ROOT${extra:+[$extra]}"; } >"$log" 2>&1; then
            cat "$log" >&2
            echo "ccbox: installing Python packages failed (log above, also in $log)" >&2
            exit 1
        fi
        touch "$stamp"
    fi
}
