#!/usr/bin/env bash
# A whole qrelay deployment on one machine, every process on loopback:
#
#   1. an emulated QPU controller      qrelay qpu serve
#   2. the job service (SQLite file)   qrelay serve        (first admin from QRELAY_ADMIN_TOKEN)
#   3. a user and a worker token       qrelay admin user create, qrelay admin worker create
#   4. a worker for two targets        qrelay worker
#   5. two jobs, as the user           qrelay run
#
# and then stops everything it started. Run it from anywhere:
#
#   bash examples/deploy_local.sh
#
# Set QRELAY_DATABASE_URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/qrelay) to
# use PostgreSQL instead of the SQLite file. SERVICE_PORT and QPU_PORT choose the ports
# (defaults 8765 and 50765). KEEP=1 leaves the work directory (logs, database) in place.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
SERVICE_PORT=${SERVICE_PORT:-8765}
QPU_PORT=${QPU_PORT:-50765}
URL="http://127.0.0.1:${SERVICE_PORT}"
work=$(mktemp -d "${TMPDIR:-/tmp}/qrelay-deploy.XXXXXX")
pids=()

stop_all() {
    # Stop what this script started, newest first: worker, service, controller.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill -TERM "${pids[i]}" 2>/dev/null || true
        wait "${pids[i]}" 2>/dev/null || true
    done
    if [ "${KEEP:-0}" = 1 ]; then
        echo "logs and data kept in $work"
    else
        rm -rf "$work"
    fi
}
trap stop_all EXIT

fail() {
    echo "deploy_local: $*" >&2
    for log in "$work"/*.log; do
        [ -f "$log" ] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
    done
    exit 1
}

# Wait (at most $2 seconds) until $1 answers 200.
wait_http() {
    for _ in $(seq 1 $(($2 * 5))); do
        curl -fsS -o /dev/null "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    fail "$1 did not answer within $2 s"
}

# Wait (at most $2 seconds) until log file $1 contains $3.
wait_log() {
    for _ in $(seq 1 $(($2 * 5))); do
        grep -q "$3" "$1" 2>/dev/null && return 0
        sleep 0.2
    done
    fail "no '$3' in $1 within $2 s"
}

# Everything this script runs sees only these qrelay settings.
unset QRELAY_URL QRELAY_TOKEN QRELAY_PROFILE
: >"$work/no-config.toml" # an empty config file: no profiles
export QRELAY_CONFIG="$work/no-config.toml"
export QRELAY_HOME="$work/home"

echo "== 1. QPU controller on 127.0.0.1:${QPU_PORT}"
qrelay qpu serve --host 127.0.0.1 --port "$QPU_PORT" >"$work/qpu.log" 2>&1 &
pids+=($!)
wait_log "$work/qpu.log" 90 "listening"

echo "== 2. service on ${URL}"
ADMIN_TOKEN=$(python3 -c 'import secrets; print(secrets.token_urlsafe(32))')
QRELAY_ADMIN_TOKEN="$ADMIN_TOKEN" qrelay serve --host 127.0.0.1 --port "$SERVICE_PORT" \
    >"$work/service.log" 2>&1 &
pids+=($!)
wait_http "$URL/readyz" 120

echo "== 3. a user and a worker token (as the admin)"
# Tokens stay in files only this user can read, never on a command line (where `ps` shows
# them). Names are this run's own, so a rerun on the same (PostgreSQL) database works.
umask 077
printf '%s\n' "$ADMIN_TOKEN" >"$work/admin.token"
run=$(basename "$work" | tr -cd 'A-Za-z0-9' | tr '[:upper:]' '[:lower:]')
qrelay admin user create --url "$URL" --token-file "$work/admin.token" \
    --name Ada --email "ada+${run}@example.org" --balance 1000 >"$work/user.token" ||
    fail "could not create the user"
qrelay admin worker create --url "$URL" --token-file "$work/admin.token" \
    --name "worker-${run}" --target aer_simulator --target square_qpu >"$work/worker.token" ||
    fail "could not create the worker token"
echo "user and worker tokens created"

echo "== 4. worker for aer_simulator and square_qpu"
# A short lease long-poll (--lease-wait) lets the worker notice SIGTERM quickly at the end.
qrelay worker --url "$URL" --token-file "$work/worker.token" \
    --target aer_simulator --target square_qpu \
    --qpu-address "127.0.0.1:${QPU_PORT}" --lease-wait 2 >"$work/worker.log" 2>&1 &
pids+=($!)

echo "== 5. jobs, as the user"
QRELAY_TOKEN=$(cat "$work/user.token")
export QRELAY_URL="$URL" QRELAY_TOKEN
qrelay run "$here/bell.qasm" --target aer_simulator --shots 500 --timeout 120 ||
    fail "the aer_simulator job did not complete"
qrelay run "$here/bell.qasm" --target square_qpu --shots 500 --timeout 120 ||
    fail "the square_qpu job did not complete"
qrelay balance
qrelay jobs

echo "== done: stopping worker, service and controller"
