#!/usr/bin/env bash
# The web console's end-to-end tests: playwright-core (npm, pinned in
# package-lock.json) drives Debian's headless Chromium against a real
# `warden serve --demo`; axe-core runs in every page. Installs what it needs
# (Chromium from Debian's packages, the npm packages), builds `warden`, runs
# the tests. Screenshots land in target/console-screenshots/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../../.." && pwd)"

if ! command -v chromium >/dev/null 2>&1; then
    echo "== installing Debian's chromium (apt)"
    sudo_cmd=""
    if [ "$(id -u)" != 0 ]; then sudo_cmd="sudo"; fi
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
chromium --version

echo "== npm ci (playwright-core, axe-core)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error)

echo "== building warden"
(cd "$root" && cargo build -p warden --locked)

echo "== console end-to-end tests"
cd "$root"
WARDEN_BIN="$root/target/debug/warden" node --test --test-concurrency=1 "$here/console.test.mjs"
