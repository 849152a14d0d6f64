#!/usr/bin/env bash
# What the test suite needs beyond .venv, made ready on this machine.
#
# `make test` runs this first and so does `.ci/run`, so the two can never need
# different machines. It is quick when everything is there already (every step
# checks before it acts) and it never fails the run itself: what it cannot
# provide is reported here, and the tests that need it then skip with a reason
# (or fail, under CI=true).
#
#   system packages (Debian, installed with apt-get when run as root or with
#   passwordless sudo; FAASIFY_NO_INSTALL=1 only reports them):
#     chromium, chromium-driver  the todolist page's browser tests
#     pgbouncer                  the data service's `pooler` tests
#     valgrind                   the instruction counts (benchmarks, and their smoke test)
#     nats-server                faasify local's JetStream queue (its fault tests run their own)
#   servers on 127.0.0.1, started when installed but not running:
#     PostgreSQL :5432 (database `test`), Redis :6379, NATS with JetStream :4222
set -uo pipefail

say() { printf 'test-setup: %s\n' "$*" >&2; }

# Wait up to $1 seconds for the command in the remaining arguments to succeed.
wait_for() {
  local seconds=$1
  shift
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -ge "$deadline" ] && return 1
    sleep 0.2
  done
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# -- system packages ------------------------------------------------------------------

missing=()
{ command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; } ||
  missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
{ command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ]; } || missing+=(pgbouncer)
command -v valgrind >/dev/null 2>&1 || missing+=(valgrind)
{ command -v nats-server >/dev/null 2>&1 || [ -x /usr/sbin/nats-server ]; } || missing+=(nats-server)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    as_root=()
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    as_root=(sudo -n)
  else
    as_root=(none)
  fi
  if [ -n "${FAASIFY_NO_INSTALL:-}" ] || ! command -v apt-get >/dev/null 2>&1 ||
    [ "${as_root[*]}" = none ]; then
    say "missing ${missing[*]}: install with 'sudo apt-get install ${missing[*]}'" \
      "(their tests skip until then, and fail under CI=true)"
  else
    say "installing ${missing[*]} with apt-get"
    { "${as_root[@]}" apt-get update -qq || true; } &&
      "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}" >/dev/null ||
      say "could not install ${missing[*]}"
    # Only the pgbouncer binary is used (tests/support/pgbouncer.py runs its own); the
    # service the package starts would hold port 6432 for nothing.
    if [[ " ${missing[*]} " == *" pgbouncer "* ]]; then
      "${as_root[@]}" service pgbouncer stop >/dev/null 2>&1 || true
    fi
  fi
fi

# -- servers --------------------------------------------------------------------------

if command -v pg_ctlcluster >/dev/null 2>&1 && ! pg_isready -h 127.0.0.1 -q 2>/dev/null; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$version" ]; then
    say "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 ||
      say "could not start PostgreSQL $version"
    wait_for 30 pg_isready -h 127.0.0.1 -q || say "PostgreSQL did not come up on 127.0.0.1:5432"
  fi
fi
# The tests' default DATABASE_URL names the database `test`.
if [ -z "${DATABASE_URL:-}" ] && command -v psql >/dev/null 2>&1 &&
  pg_isready -h 127.0.0.1 -q 2>/dev/null &&
  ! psql -h 127.0.0.1 -U postgres -d test -Atqc 'SELECT 1' >/dev/null 2>&1; then
  say "creating the database test"
  psql -h 127.0.0.1 -U postgres -d postgres -qc 'CREATE DATABASE test' >/dev/null 2>&1 ||
    say "could not create the database test (is 127.0.0.1 trusted for the user postgres?)"
fi

if command -v redis-server >/dev/null 2>&1 && ! port_open 6379; then
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    >/dev/null 2>&1 || say "could not start Redis"
  wait_for 15 port_open 6379 || say "Redis did not come up on 127.0.0.1:6379"
fi

if command -v nats-server >/dev/null 2>&1 && ! port_open 4222; then
  say "starting NATS with JetStream"
  log="${TMPDIR:-/tmp}/faasify-nats-server.log"
  setsid nohup nats-server -js -sd "${TMPDIR:-/tmp}/faasify-nats" -a 127.0.0.1 -p 4222 \
    >"$log" 2>&1 </dev/null &
  wait_for 15 port_open 4222 || say "NATS did not come up on 127.0.0.1:4222 (see $log)"
fi

for server in "PostgreSQL 5432 postgresql" "Redis 6379 redis-server" "NATS 4222 nats-server"; do
  read -r name port package <<<"$server"
  port_open "$port" ||
    say "$name is not running on 127.0.0.1:$port (install $package): its tests skip," \
      "and fail under CI=true"
done
exit 0
