#!/usr/bin/env bash
# Installs Debian's chromium for the browser test (tests/serve/test_page.py drives it with
# Playwright, using the system browser; no browser is ever downloaded by Playwright).
# Idempotent and quiet: does nothing when /usr/bin/chromium is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
    exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        exec sudo -n "$0" "$@"
    fi
    echo "setup-browser: need root to apt-get install chromium; the browser test will skip" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version >/dev/null 2>&1 || true
echo "setup-browser: installed $(dpkg-query -W -f='${Package} ${Version}' chromium)"
