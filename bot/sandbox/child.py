"""``python -m bot.sandbox.child``: the sandbox's bot process, which is ``python -m bot run``
unchanged, except that it stops when its supervisor dies.

On Linux the process asks the kernel for SIGTERM when its parent ends (``PR_SET_PDEATHSIG``),
so a supervisor killed with ``kill -9`` leaves no bot behind polling an emulator that is gone;
a supervisor that died before that request was made (``SANDBOX_SUPERVISOR_PID`` is not the
parent any more) makes the process exit at once. Elsewhere it is just ``python -m bot run``.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
EXIT_ORPHANED = 1


def main() -> int:
    """Run the bot (``bot.cli.main(["run"])``) tied to the supervisor; returns its exit code,
    or 1 when the supervisor is gone already."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    supervisor = os.environ.get("SANDBOX_SUPERVISOR_PID", "")
    if supervisor.isdigit() and os.getppid() != int(supervisor):
        print("error: the sandbox's supervisor is gone; not starting", file=sys.stderr)
        return EXIT_ORPHANED
    from bot.cli import main as cli  # noqa: PLC0415 - after the check, as the bot imports slowly

    return cli(["run"])


if __name__ == "__main__":
    raise SystemExit(main())
