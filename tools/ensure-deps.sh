#!/usr/bin/env bash
# Makes sure what `make demo` / `make test` need is installed. On a fresh Debian machine,
# as root, it installs the missing Debian packages; otherwise it prints the one command to
# run. Rust (cargo) is expected on the PATH (https://rustup.rs).
set -euo pipefail

missing=()
command -v php >/dev/null 2>&1 && php -m 2>/dev/null | grep -qx FFI || missing+=(php-cli)
if [ "${1:-}" = "--test" ]; then
    command -v phpunit >/dev/null 2>&1 || missing+=(phpunit)
    [ -f /usr/share/php/Illuminate/Foundation/Application.php ] || missing+=(php-laravel-framework)
    command -v php-cgi >/dev/null 2>&1 || missing+=(php-cgi) # php-fpm's FFI rules, in tests
    command -v cc >/dev/null 2>&1 || missing+=(gcc)
    # The Prometheus parser that validates the /metrics page, in Debian's python.
    { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import prometheus_client.parser' 2>/dev/null; } ||
        missing+=(python3-prometheus-client)
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "cargo is not on the PATH: install Rust from https://rustup.rs, then run make again." >&2
    exit 1
fi

if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing missing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi

echo "missing: ${missing[*]}. Install them with:" >&2
echo "    sudo apt-get install -y ${missing[*]}" >&2
exit 1
