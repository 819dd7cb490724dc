#!/usr/bin/env bash
# Run a command against a throwaway PostgreSQL server.
#
# Usage (from anywhere; the command runs in the current directory):
#
#     scripts/test-postgres.sh COMMAND [ARGS...]
#     scripts/test-postgres.sh .venv/bin/python -m pytest -q
#     scripts/test-postgres.sh .venv/bin/python -m pytest tests/test_roadmap_parser.py
#
# What it does:
#   1. finds initdb/pg_ctl/postgres (PG_BINDIR if set, else `pg_config --bindir`,
#      /usr/lib/postgresql/*/bin (newest first), then PATH). If none is found and we
#      are root, installs Debian's `postgresql` package with apt-get; otherwise it
#      tells you what to install.
#   2. creates a fresh data directory under a new `mktemp -d` directory and starts a
#      server on 127.0.0.1 only, on a free port, with its unix socket inside that
#      directory, and with fsync/synchronous_commit/full_page_writes off (fast, not
#      durable: the data is thrown away anyway). As root the server runs as the user
#      `postgres` (or `pgci`, created if needed), since PostgreSQL refuses to run as root.
#   3. creates the database `reserve_test` owned by the password user `reserve` and
#      exports TEST_DATABASE_URL=postgresql+asyncpg://reserve:PASS@127.0.0.1:PORT/reserve_test
#   4. runs COMMAND, then stops the server and deletes the temporary directory
#      (also on failure or Ctrl-C), and exits with COMMAND's exit code.
#
# The test suite empties that database before each test; run in parallel (pytest-xdist, the
# default of pyproject.toml), each worker uses a database of its own instead, reserve_test_gw0,
# reserve_test_gw1, ..., which tests/conftest.py creates on this server (DB_USER is its superuser).
# The suite deselects the tests that do not use the database there (tests/conftest.py's
# uses_the_database): they are the same tests on either database, and run in the SQLite run.
# Nothing is left behind: no cluster registered with pg_ctlcluster, no systemd unit.
# Notes go to stderr, so COMMAND's stdout stays clean.

set -euo pipefail

PROG=test-postgres.sh
DB_NAME=reserve_test
DB_USER=reserve

note() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() {
    note "error: $*"
    exit 2
}

if [[ $# -eq 0 ]]; then
    sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
fi

command -v python3 >/dev/null 2>&1 || die "python3 is needed (to pick a free port)"

# --- find the PostgreSQL server binaries ------------------------------------------------

is_bindir() {
    [[ -n $1 && -x $1/initdb && -x $1/pg_ctl && -x $1/postgres ]]
}

find_bindir() {
    local dir
    if [[ -n ${PG_BINDIR:-} ]]; then
        echo "$PG_BINDIR"
        return 0
    fi
    if command -v pg_config >/dev/null 2>&1; then
        # libpq-dev alone ships pg_config without a server: check for initdb.
        dir=$(pg_config --bindir 2>/dev/null || true)
        is_bindir "$dir" && { echo "$dir"; return 0; }
    fi
    while IFS= read -r dir; do
        is_bindir "$dir" && { echo "$dir"; return 0; }
    done < <(compgen -G '/usr/lib/postgresql/*/bin' | sort -t/ -k5,5 -V -r)
    if command -v initdb >/dev/null 2>&1; then
        dir=$(dirname "$(readlink -f "$(command -v initdb)")")
        is_bindir "$dir" && { echo "$dir"; return 0; }
    fi
    return 1
}

if [[ -n ${PG_BINDIR:-} ]] && ! is_bindir "$PG_BINDIR"; then
    die "PG_BINDIR=$PG_BINDIR has no initdb/pg_ctl/postgres"
fi
if ! BINDIR=$(find_bindir); then
    if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
        note "no PostgreSQL server found; installing Debian's postgresql package"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >&2
        apt-get install -y -q postgresql >&2
        BINDIR=$(find_bindir) || die "postgresql installed, but initdb/pg_ctl not found"
    else
        die "no PostgreSQL server binaries found (initdb, pg_ctl, postgres).
    Install them (Debian/Ubuntu: sudo apt-get install postgresql) or set PG_BINDIR."
    fi
fi

# --- pick the user that runs the server -------------------------------------------------

if [[ $(id -u) -eq 0 ]]; then
    if id -u postgres >/dev/null 2>&1; then
        PG_USER=postgres
    else
        PG_USER=pgci
        id -u "$PG_USER" >/dev/null 2>&1 || useradd -r -m -s /bin/sh "$PG_USER"
    fi
    TMP_ROOT=/tmp # must be reachable by PG_USER, whatever root's TMPDIR is
else
    PG_USER=
    TMP_ROOT=${TMPDIR:-/tmp}
fi

# Run a command as the server user (in the temp dir, so no "could not change dir" noise).
as_pg() {
    if [[ -z $PG_USER ]]; then
        (cd "$WORK" && "$@")
    elif command -v runuser >/dev/null 2>&1; then
        (cd "$WORK" && runuser -u "$PG_USER" -- "$@")
    else
        local cmd
        printf -v cmd '%q ' "$@"
        (cd "$WORK" && su "$PG_USER" -s /bin/sh -c "$cmd")
    fi
}

# --- temp dir, cleanup ------------------------------------------------------------------

WORK=$(mktemp -d "$TMP_ROOT/reserve-pg.XXXXXXXX")
DATA=$WORK/data
LOG=$WORK/postgres.log
STARTED=0

# shellcheck disable=SC2317  # invoked via trap
cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    if [[ $STARTED -eq 1 ]]; then
        as_pg "$BINDIR/pg_ctl" stop -D "$DATA" -m immediate -w -t 60 >/dev/null 2>&1 ||
            note "warning: could not stop the server (data dir $DATA)"
    fi
    rm -rf -- "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

[[ -n $PG_USER ]] && chown "$PG_USER:" "$WORK"
chmod 700 "$WORK"

# --- initdb -----------------------------------------------------------------------------

PASSWORD=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
printf '%s\n' "$PASSWORD" >"$WORK/pwfile"
[[ -n $PG_USER ]] && chown "$PG_USER:" "$WORK/pwfile"

# C.UTF-8 rather than C: lower()/upper()/ILIKE must work on Cyrillic text.
if locale -a 2>/dev/null | grep -qix 'c\.utf-\{0,1\}8'; then
    LOCALE_ARGS=(--locale=C.UTF-8)
else
    LOCALE_ARGS=(--no-locale)
fi

if ! as_pg "$BINDIR/initdb" -D "$DATA" --username="$DB_USER" --pwfile="$WORK/pwfile" \
    --auth-local=trust --auth-host=scram-sha-256 --encoding=UTF8 "${LOCALE_ARGS[@]}" \
    >"$WORK/initdb.log" 2>&1; then
    cat "$WORK/initdb.log" >&2
    die "initdb failed"
fi
rm -f "$WORK/pwfile"

cat >>"$DATA/postgresql.conf" <<EOF

# --- test-postgres.sh: throwaway server, speed over durability ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$WORK'
fsync = off
synchronous_commit = off
full_page_writes = off
# pytest-xdist's workers each run tests and bot processes with pools of their own
max_connections = 300
EOF

# --- start on a free port (retry if someone grabs the port in between) ------------------

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

for attempt in 1 2 3; do
    PORT=$(free_port)
    if as_pg "$BINDIR/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 -o "-p $PORT" >/dev/null 2>&1; then
        STARTED=1
        break
    fi
    # pg_ctl may give up while the postmaster is still there: make sure it is gone.
    as_pg "$BINDIR/pg_ctl" stop -D "$DATA" -m immediate -w >/dev/null 2>&1 || true
    note "start attempt $attempt on port $PORT failed"
done
if [[ $STARTED -ne 1 ]]; then
    tail -n 30 "$LOG" >&2 || true
    die "could not start PostgreSQL"
fi

# Create the database over the unix socket (local connections: trust).
PSQL=("$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -U "$DB_USER" -d postgres)
if [[ -x $BINDIR/psql ]]; then
    as_pg "${PSQL[@]}" -c "CREATE DATABASE $DB_NAME OWNER $DB_USER" >&2
    VERSION=$(as_pg "${PSQL[@]}" -At -c 'SELECT version()')
elif [[ -x $BINDIR/createdb ]]; then
    as_pg "$BINDIR/createdb" -h "$WORK" -p "$PORT" -U "$DB_USER" -O "$DB_USER" "$DB_NAME"
    VERSION=$("$BINDIR/postgres" --version)
else
    die "neither psql nor createdb found in $BINDIR"
fi

export TEST_DATABASE_URL="postgresql+asyncpg://$DB_USER:$PASSWORD@127.0.0.1:$PORT/$DB_NAME"
note "started ${VERSION%% on *} on 127.0.0.1:$PORT (bindir $BINDIR, data $DATA)"

# --- run the command --------------------------------------------------------------------

set +e
"$@"
RC=$?
set -e
[[ $RC -eq 0 ]] || note "command exited with $RC"
exit "$RC"
