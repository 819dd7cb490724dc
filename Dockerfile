# The reserve bot: `docker compose up -d` (compose.yaml) or, alone with SQLite in /data,
#   docker build -t reserve-bot . && docker run -d --env-file .env -v reserve-data:/data reserve-bot
# Long polling by default; `python -m bot run --webhook` for webhook mode (see README).

# ---- build: the project and its dependencies in a virtual environment (wheels only)
FROM python:3.11-slim AS build

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_INPUT=1
WORKDIR /src
RUN python -m venv /opt/venv
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY scheduler ./scheduler
COPY storage ./storage
# then leave out what only installing needs (pip, setuptools) and libraries' own test suites, and
# compile the byte code once here: the image is ~60 MB larger, but neither the bot's start nor
# each export's child process (bot/services/export_process.py) compiles every module again (a
# second of the start; about 2.4 s of CPU an export, measured without it)
RUN /opt/venv/bin/pip install --no-cache-dir '.[postgres]' \
    && /opt/venv/bin/pip uninstall --yes pip setuptools \
    && find /opt/venv -depth -type d -name tests -path '*/site-packages/*/tests' -exec rm -rf {} + \
    && find /opt/venv -name '*.pyc' -delete \
    && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv

# ---- runtime: the virtual environment only, run by an unprivileged user
FROM python:3.11-slim

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MPLCONFIGDIR=/tmp/matplotlib \
    DATABASE_URL=sqlite+aiosqlite:////data/reserve.db \
    HEALTH_LISTEN=0.0.0.0:8080 \
    WEBHOOK_LISTEN=0.0.0.0:8080 \
    LOG_FORMAT=json

RUN groupadd --system --gid 10001 reserve \
    && useradd --system --uid 10001 --gid reserve --no-create-home --home-dir /nonexistent \
       --shell /usr/sbin/nologin reserve \
    && mkdir /data \
    && chown reserve:reserve /data

COPY --from=build /opt/venv /opt/venv

WORKDIR /data
USER 10001:10001
VOLUME ["/data"]
# /healthz and /metrics (HEALTH_LISTEN), and the webhook in webhook mode (WEBHOOK_LISTEN)
EXPOSE 8080

# no curl in the slim image: Python's urllib (an HTTP error such as 503 exits non-zero)
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=8)"]

# SIGTERM (docker stop) ends it cleanly; give it more than SHUTDOWN_GRACE_SECONDS (compose: 30 s)
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot", "run"]
