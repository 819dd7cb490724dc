#!/usr/bin/env bash
# Build the image and start the compose stack (compose.yaml) where Docker exists; where it does
# not, say so and exit 0.
#
# Usage (from anywhere):   scripts/docker-smoke.sh
#
# What it checks, in a throwaway compose project (`reserve-smoke`, its volumes removed at the
# end, also on failure):
#   1. hadolint Dockerfile (when hadolint is on PATH or in .venv);
#   2. the image builds; its size is printed;
#   3. PostgreSQL 16 starts and becomes healthy;
#   4. the image runs as a non-root user and `python -m bot migrate` brings PostgreSQL to head;
#   5. with BOT_TOKEN in the environment (a test bot's token; Telegram must be reachable), the
#      bot starts and its HEALTHCHECK (/healthz) turns healthy within 3 minutes, then it stops
#      cleanly (docker compose stop: SIGTERM).
# Exits non-zero at the first failure.

set -euo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

note() { printf 'docker-smoke: %s\n' "$*" >&2; }

if [[ -x .venv/bin/hadolint ]]; then
    .venv/bin/hadolint Dockerfile && note "hadolint: Dockerfile OK"
elif command -v hadolint >/dev/null 2>&1; then
    hadolint Dockerfile && note "hadolint: Dockerfile OK"
fi

if ! command -v docker >/dev/null 2>&1; then
    note "skipped: no docker command on this machine"
    exit 0
fi
if ! docker info >/dev/null 2>&1; then
    note "skipped: the Docker engine does not answer (docker info failed)"
    exit 0
fi
if ! docker compose version >/dev/null 2>&1; then
    note "skipped: docker compose (v2) is not installed"
    exit 0
fi

export COMPOSE_PROJECT_NAME=reserve-smoke
export POSTGRES_PASSWORD="smoke${RANDOM}${RANDOM}"
export POSTGRES_USER=reserve POSTGRES_DB=reserve
WORK=$(mktemp -d)
FILES=(-f compose.yaml)
if [[ -n "${BOT_TOKEN:-}" ]]; then
    cat >"$WORK/token.yaml" <<YAML
services:
  bot:
    environment:
      BOT_TOKEN: "\${BOT_TOKEN}"
YAML
    FILES+=(-f "$WORK/token.yaml")
fi
compose() { docker compose "${FILES[@]}" "$@"; }

cleanup() {
    local rc=$?
    if [[ $rc -ne 0 ]]; then
        note "FAILED (exit $rc); the bot's last log lines:"
        compose logs --tail 40 bot >&2 || true
    fi
    compose down --volumes --remove-orphans >/dev/null 2>&1 || true
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

note "building the image"
compose build bot
size=$(docker image inspect --format '{{.Size}}' reserve-bot:latest)
note "image reserve-bot:latest: $((size / 1024 / 1024)) MiB"

note "starting PostgreSQL 16"
compose up --detach --wait --wait-timeout 120 db

user=$(compose run --rm -T --no-deps --entrypoint id bot -u | tr -d '[:space:]')
[[ "$user" != "0" ]] || { note "the image runs as root"; exit 1; }
note "runs as uid $user"

note "migrating PostgreSQL from the image"
compose run --rm -T bot python -m bot migrate

if [[ -z "${BOT_TOKEN:-}" ]]; then
    note "BOT_TOKEN not set: the bot itself is not started (set it to a test bot's token)"
    note "OK"
    exit 0
fi

note "starting the bot; waiting for its health check"
compose up --detach --wait --wait-timeout 180 bot
health=$(compose exec -T bot python -c \
    "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=8).read().decode())")
note "/healthz: $health"
compose stop --timeout 30 bot
code=$(docker inspect --format '{{.State.ExitCode}}' "$(compose ps --all --quiet bot)")
[[ "$code" == "0" ]] || { note "the bot exited with $code on SIGTERM"; exit 1; }
note "OK"
