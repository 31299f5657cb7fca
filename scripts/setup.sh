#!/usr/bin/env bash
# Create .venv and install the hub into it (editable). With --test, also the test tools and
# the system servers the test suite starts: redis-server, postgresql, dovecot-imapd
# (a real IMAP server for the mail tests) and chromium.
set -euo pipefail
cd "$(dirname "$0")/.."

with_test=0
[ "${1:-}" = "--test" ] && with_test=1

need_apt=()
if [ "$with_test" = 1 ]; then
  command -v redis-server >/dev/null || need_apt+=(redis-server)
  ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need_apt+=(postgresql)
  [ -x /usr/bin/chromium ] || need_apt+=(chromium)
  [ -x /usr/sbin/dovecot ] && [ -x /usr/lib/dovecot/imap ] || need_apt+=(dovecot-imapd)
fi
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing system packages: ${need_apt[*]}" >&2
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >&2
fi

[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >&2
if [ "$with_test" = 1 ]; then
  .venv/bin/python -m pip install -q -e '.[test]' >&2
else
  .venv/bin/python -m pip install -q -e . >&2
fi
echo "set up: .venv/bin/hub is ready" >&2
