"""Settings: defaults, parsing, and one clear line with exit code 2 for a bad value."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.config import SettingsError, load_settings, settings_env_names
from bot.services.clock import make_clock, utcnow

ROOT = Path(__file__).resolve().parents[1]


def test_defaults() -> None:
    s = load_settings(_env_file=None)
    assert s.database_url == "sqlite+aiosqlite:///data/reserve.db"
    assert s.telegram_api_url == "https://api.telegram.org"
    assert s.default_timezone == "Europe/Moscow"
    assert s.officer_ids == ()
    assert s.reminder_days_before == (7, 1)
    assert s.telegram_retry_seconds == 30.0


def test_every_setting_is_documented() -> None:
    """Each variable the settings read is in `.env.example` (``NAME=``, or ``# NAME=`` when
    unset by default) and in the README's configuration table (`` `NAME` `` in a row's first
    cell): a setting added without them is found here."""
    example = (ROOT / ".env.example").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    names = sorted(settings_env_names())
    assert [n for n in names if not re.search(rf"^(# )?{n}=", example, re.MULTILINE)] == []
    in_table = re.compile(r"^\| ([^|]*) \|", re.MULTILINE)  # a row's first cell
    documented = " ".join(in_table.findall(readme))
    assert [n for n in names if f"`{n}`" not in documented] == []


def test_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OFFICER_IDS", "11, 22;33")
    monkeypatch.setenv("REMINDER_DAYS_BEFORE", "1,7,14")
    monkeypatch.setenv("TELEGRAM_API_URL", "http://127.0.0.1:8081/")
    s = load_settings(_env_file=None)
    assert s.officer_ids == (11, 22, 33)
    assert s.reminder_days_before == (14, 7, 1)
    assert s.telegram_api_url == "http://127.0.0.1:8081"


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("OFFICER_IDS", "alice"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus"),
        ("DATABASE_URL", "mysql://x"),
        ("TELEGRAM_API_URL", "api.telegram.org"),
        ("BOT_TOKEN", "not-a-token"),
        ("INVITE_TTL_DAYS", "0"),
        ("TELEGRAM_CLOCK_SPEED", "0"),
        ("TELEGRAM_CLOCK_SPEED", "10"),  # with Telegram's own URL: its limits would be broken
        ("TELEGRAM_RETRY_SECONDS", "0"),
        ("TELEGRAM_RETRY_SECONDS", "soon"),
    ],
)
def test_bad_value_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as info:
        load_settings(_env_file=None)
    assert info.value.variable == variable


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("http://127.0.0.1:8081", True),
        ("http://127.3.4.5:8081", True),
        ("http://localhost:8081", True),
        ("http://[::1]:8081", True),
        ("https://api.telegram.org", False),
        ("http://10.0.0.7:8081", False),  # a Bot API server of one's own, on another machine
        ("http://127.0.0.1.example.org", False),
    ],
)
def test_a_faster_telegram_clock_needs_a_loopback_server(url: str, allowed: bool) -> None:
    if allowed:
        speed = load_settings(_env_file=None, telegram_api_url=url, telegram_clock_speed=10)
        assert speed.telegram_clock_speed == 10
    else:
        with pytest.raises(SettingsError) as info:
            load_settings(_env_file=None, telegram_api_url=url, telegram_clock_speed=10)
        assert info.value.variable == "TELEGRAM_CLOCK_SPEED"
        assert "loopback" in info.value.reason
    assert load_settings(_env_file=None, telegram_api_url=url).telegram_clock_speed == 1


def _run(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if k not in {"BOT_TOKEN", "OFFICER_IDS"}}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env={**base, **env, "PYTHONPATH": str(ROOT)},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_missing_token_exits_2_with_one_line(tmp_path: Path) -> None:
    result = _run(["run"], {"DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"}, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "error: BOT_TOKEN is required to run the bot; get one from @BotFather"
    ]


def test_malformed_setting_exits_2(tmp_path: Path) -> None:
    result = _run(["run"], {"OFFICER_IDS": "1,two", "BOT_TOKEN": "1:x"}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    assert "Traceback" not in result.stderr


def test_help_lists_subcommands(tmp_path: Path) -> None:
    result = _run(["--help"], {}, tmp_path)
    assert result.returncode == 0
    for word in ("run", "migrate", "roadmap", "reminders", "backup", "check"):
        assert word in result.stdout


def test_clock_start_is_aware_utc(monkeypatch: pytest.MonkeyPatch) -> None:
    assert load_settings().clock_start is None
    monkeypatch.setenv("CLOCK_START", "2027-03-01T12:00+03:00")
    start = load_settings().clock_start
    assert start == datetime(2027, 3, 1, 9, 0, tzinfo=UTC) and start.tzinfo is UTC
    monkeypatch.setenv("CLOCK_START", "")
    assert load_settings().clock_start is None


@pytest.mark.parametrize("value", ["2027-03-01T12:00", "tomorrow"])
def test_clock_start_needs_an_offset(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("CLOCK_START", value)
    with pytest.raises(SettingsError) as info:
        load_settings()
    assert info.value.variable == "CLOCK_START"


def test_make_clock() -> None:
    assert make_clock(None) is utcnow
    start = datetime(2027, 3, 1, 20, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    clock = make_clock(start)
    first = clock()
    assert first.tzinfo is UTC and timedelta(0) <= first - start < timedelta(seconds=5)
    time.sleep(0.01)
    assert clock() > first
    with pytest.raises(ValueError, match="naive"):
        make_clock(datetime(2027, 3, 1, 12))  # naive on purpose


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql+asyncpg://bot:pw@localhost:54x2/reserve", "port"),
        ("postgresql+asyncpg://bot:pw@localhost:99999/reserve", "port 99999"),
        ("sqlite+aiosqlite:///{file}/reserve.db", "is a file, not a folder"),
    ],
)
def test_a_malformed_database_url_exits_2_with_one_line(
    tmp_path: Path, url: str, reason: str
) -> None:
    """Issue 7: a bad port or a SQLite path under a file is named in one line, exit 2, before
    anything is started (no traceback, no retrying)."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    token = "123456:TEST-token-for-the-test-suite-only"
    env = {"DATABASE_URL": url.format(file=blocker), "BOT_TOKEN": token}
    result = _run(["run"], env, tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: DATABASE_URL"), lines
    assert reason in lines[0]
