"""Running code in a fresh interpreter, for the tests that depend on what a process imports
first (aiogram's deferred builds, the modules a start leaves unloaded)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _start(code: str, args: tuple[str, ...] = ()) -> subprocess.Popen[str]:
    """``python -c code *args`` at the repository's root, so that this checkout is what it
    imports, with its standard output and error piped."""
    return subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(procs: list[subprocess.Popen[str]], timeout: float) -> list[str]:
    """Wait for each of ``procs`` (``timeout`` seconds each), killing any left on a failure.

    Returns:
        Their standard outputs, in order.

    Raises:
        AssertionError: one exited with a non-zero code (the message is its standard error).
        subprocess.TimeoutExpired: one ran longer than ``timeout``.
    """
    outs = []
    try:
        for proc in procs:
            out, err = proc.communicate(timeout=timeout)
            assert proc.returncode == 0, err
            outs.append(out)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    return outs


def fresh_python(code: str, *args: str, timeout: float = 120) -> str:
    """Run ``code`` (``python -c``, ``args`` as ``sys.argv[1:]``) in a fresh interpreter at the
    repository's root.

    Returns:
        Its standard output.

    Raises:
        AssertionError: it exited with a non-zero code (the message is its standard error).
    """
    return _finish([_start(code, args)], timeout)[0]


def fresh_pythons(*codes: str, timeout: float = 120) -> list[str]:
    """Run each of ``codes`` as :func:`fresh_python` does, all at once (their start-ups, seconds
    of CPU each, overlap on a machine with cores to spare).

    Returns:
        Their standard outputs, in the order of ``codes``.

    Raises:
        AssertionError: one exited with a non-zero code (the message is its standard error).
    """
    return _finish([_start(code) for code in codes], timeout)
