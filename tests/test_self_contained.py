"""The suite is self-contained: nothing under tests/ refers to files outside the checkout, and
the settings tests build come from a clean environment, whatever the shell exports."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import Settings, load_settings, settings_env_names

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
# The patterns are joined from parts at import, so that neither this file nor its bytecode in
# __pycache__ holds one of them (a scan of the checkout for references to the folder beside it
# would otherwise find them here).
_SHARED, _SEEDS = "sha" + "red", "se" + "eds"
OUTSIDE = (
    f"../{_SHARED}",
    f"..\\{_SHARED}",
    f"{_SHARED}/{_SEEDS}",
    f'parent / "{_SHARED}"',
    f'"{_SHARED}" / "{_SEEDS}"',
)


def test_no_test_refers_to_shared() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*")):
        if not path.is_file() or path.suffix not in {".py", ".md", ".txt", ".ini", ".cfg"}:
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        offenders += [f"{path.relative_to(ROOT)}: {s}" for s in OUTSIDE if s in text]
    assert not offenders, offenders


def test_roadmap_seeds_are_in_the_repository() -> None:
    for name in (
        "petrovsky-roadmap-2022.txt",
        "kamyshin-program-2022.txt",
        "khabarovsk-project-2023.txt",
    ):
        assert (TESTS / "data" / name).stat().st_size > 1000, name


def test_env_names_cover_every_field() -> None:
    names = settings_env_names()
    assert len(names) == len(Settings.model_fields)
    assert {"QUIET_HOURS_START", "DATABASE_URL", "LOG_LEVEL", "CLOCK_START"} <= names


def test_clean_environment_fixture_removes_exported_settings() -> None:
    # the autouse fixture in conftest.py has run: none of the variables is set
    leaked = sorted(n for n in settings_env_names() if n in os.environ)
    assert not leaked, leaked
    assert load_settings().quiet_hours_start == 21


@pytest.fixture
def hostile_env(tmp_path: Path) -> dict[str, str]:
    """A shell that exports odd settings, and a `.env` in the working folder."""
    (tmp_path / ".env").write_text("QUIET_HOURS_END=4\nDUE_SOON_DAYS=11\n", encoding="utf-8")
    return {
        **os.environ,
        "QUIET_HOURS_START": "3",
        "LOG_LEVEL": "DEBUG",
        "DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
        "PYTHONPATH": str(ROOT),
    }


def test_exported_variables_and_dotenv_do_not_reach_tests(
    hostile_env: dict[str, str], tmp_path: Path
) -> None:
    """A child pytest run, in a folder with a `.env` and with hostile exported variables,
    still sees the default settings inside its tests."""
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        "from bot.config import load_settings\n"
        "def test_probe():\n"
        "    s = load_settings()\n"
        "    assert s.quiet_hours_start == 21 and s.quiet_hours_end == 9\n"
        "    assert s.due_soon_days == 3 and s.log_level == 'INFO'\n"
        "    assert s.database_url.startswith('sqlite')\n",
        encoding="utf-8",
    )
    # the probe runs with this suite's conftest.py as a plugin, from the hostile folder
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p",
            "tests.conftest", "--rootdir", str(tmp_path), str(probe),
        ],
        env=hostile_env, cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_without_the_fixture_the_variables_would_leak(
    hostile_env: dict[str, str], tmp_path: Path
) -> None:
    """The control of the test above: the same probe without the fixture sees them."""
    code = (
        "from bot.config import load_settings; s = load_settings(); "
        "print(s.quiet_hours_start, s.quiet_hours_end)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env=hostile_env, cwd=tmp_path, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.stdout.split() == ["3", "4"], result.stdout + result.stderr


def test_the_code_under_test_is_this_checkout() -> None:
    """An editable install of another checkout (CI runs the suite in a fresh clone with the
    first checkout's venv) must not be what the tests import."""
    import bot  # noqa: PLC0415
    import handlers  # noqa: PLC0415
    import storage  # noqa: PLC0415

    for package in (bot, handlers, storage):
        assert package.__file__ is not None
        assert Path(package.__file__).resolve().is_relative_to(ROOT), package.__file__
