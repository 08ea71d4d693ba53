#!/usr/bin/env bash
# Install the system packages the test suite runs for real, only when they are missing,
# so this is instant on a machine that already has them.
set -euo pipefail

missing=()
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$1" ]; }
have /usr/bin/chromium || missing+=(chromium)
have redis-server || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
have node || missing+=(nodejs)
have npm || missing+=(npm)
# Colour emoji for headless Chromium (reaction picker and counts); without it they draw as boxes.
[ -e /usr/share/fonts/truetype/noto/NotoColorEmoji.ttf ] || missing+=(fonts-noto-color-emoji)

[ ${#missing[@]} -eq 0 ] && exit 0
echo "Installing system packages: ${missing[*]}"
sudo_cmd=()
[ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
