"""A copy of the SQLite database taken while the bot runs: :func:`sqlite_backup`, used by
``python -m bot backup`` (PostgreSQL is backed up with ``pg_dump``)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def sqlite_backup(source: Path, out: Path) -> int:
    """Copy the SQLite database ``source`` to the new file ``out`` with SQLite's online backup
    API: a consistent snapshot even while the bot writes (WAL). The copy is a single file
    (rollback journal, no ``-wal``) and passes ``PRAGMA integrity_check``. Blocking: call it off
    the event loop.

    Returns:
        The size of ``out`` in bytes.

    Raises:
        sqlite3.Error: the copy failed or is not intact (``out`` is removed then).
        OSError: ``out`` cannot be written.
    """
    partial = out.with_name(f".{out.name}.partial")
    # read-write, though nothing is written: a read-only connection would leave -wal and -shm
    # files behind (owned by whoever ran the backup) where a last read-write one removes them
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=rw", uri=True)
    try:
        dst = sqlite3.connect(partial)
        try:
            src.backup(dst)
            dst.execute("PRAGMA journal_mode=DELETE")
            verdict = dst.execute("PRAGMA integrity_check").fetchone()
            if verdict is None or verdict[0] != "ok":
                msg = f"the copy is not intact: {verdict}"
                raise sqlite3.DatabaseError(msg)
        finally:
            dst.close()
        partial.replace(out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        src.close()
    return out.stat().st_size
