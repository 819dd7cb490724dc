"""Removing the traces of deleted data from the database files (152-ФЗ, art. 21: personal data
are destroyed, not only hidden).

SQLite keeps deleted and overwritten values in the write-ahead log (``-wal``) until a checkpoint
and in the free space of its pages until that space is reused; :func:`scrub_files` rewrites the
database without them. PostgreSQL keeps dead row versions until VACUUM (run by autovacuum);
there is no file for the bot to rewrite, so nothing is done there.
"""

from __future__ import annotations

from storage.db import Database


async def scrub_files(db: Database) -> bool:
    """On SQLite, after a deletion was committed: rebuild the database file with zeroed free
    space (``secure_delete`` on, ``VACUUM``) and copy the write-ahead log into it and empty it
    (``PRAGMA wal_checkpoint(TRUNCATE)``), so that neither file holds a deleted value.

    Call it outside any transaction of the caller's. It holds SQLite's write lock while the
    file is rebuilt (about a second for tens of megabytes): other writers wait for it through
    the busy timeout. Returns True when the log was emptied, False when a reader still held it
    (the next checkpoint empties it) — and True on PostgreSQL, where there is nothing to do.
    Raises what the database raises (e.g. ``OperationalError`` "database is locked" when a
    write transaction stays open longer than the busy timeout).
    """
    if db.dialect != "sqlite":
        return True
    async with db.engine.connect() as conn:
        auto = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await auto.exec_driver_sql("PRAGMA secure_delete=ON")
        await auto.exec_driver_sql("VACUUM")
        result = await auto.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        row = result.first()
    return row is not None and int(row[0]) == 0
