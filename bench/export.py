"""Benchmark: the department's export, /kpi and /report over N reservists with 20 plan items.

Builds a fresh SQLite database in a temporary folder (migrated, default roadmap) and fills it
with bulk inserts through the storage models: N reservists in 10 municipalities and 400 schools,
each with a plan of the year of 20 items (the roadmap's windows, padded with personal items),
about 60 % done (a third of them confirmed, with evidence and a history entry), a mentor for
half of them, and consultations.

Then each measured run is a fresh child process (so that its peak RSS is the reports' alone)
over that database, for this tree and, with ``--reference DIR``, for another checkout of the
code (e.g. ``git worktree add /tmp/export-before <commit>``), the two alternated run by run.
A child times, in this order: /kpi with the chart from a cold start (matplotlib not imported
yet, as on the first /kpi after a start; the chart imported and drawn as ``handlers.reports``
does it), /kpi with the chart again (warm), /kpi without the chart; the regional .xlsx as the
bot makes it (in this tree: built by the export's own child process,
:mod:`bot.services.export_process`) with the SQL statements, CPU time and peak RSS growth of
the measuring process (the bot's), the latency of another user's request meanwhile (a one-row
query in its own session every 50 ms, as a handler would read), and the CPU time of the
export's child process (``RUSAGE_CHILDREN``) and its peak RSS (``VmHWM``, which it logs: the
children's ``ru_maxrss`` would count the parent's memory at the start; a tree that builds in
a thread has none); the reading (``collect``) and the build of that file apart, in the
measuring process, with the cyclic garbage collector off as this tree's export child runs them
(a reference tree whose child keeps it on is measured apart without it too; its whole export
is measured as it runs); the floor of that build (:func:`library_floor`: the same cells
written with XlsxWriter alone, nothing else: what no layout of these cells can go below with
this library); the regional .csv; one municipality's .xlsx; /report: the first page
of its list of reservists and one reservist's .docx. It prints min / median / max over the
runs.

Usage: .venv/bin/python -m bench.export [N] [--runs R] [--reference DIR] [--db FILE]

``--db FILE`` reuses a database an earlier run built (its path is printed).
"""

from __future__ import annotations

import asyncio
import gc
import importlib
import io
import json
import os
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import event, select
from structlog.testing import capture_logs

from bot.app import prepare_database
from bot.config import load_settings
from bot.services.exports import ExportService
from bot.services.indicators import IndicatorService
from bot.services.mentoring import Pool, search_people
from bot.services.plans import windows_in_year
from storage.db import Database
from storage.models import (
    Consultation,
    IndividualPlan,
    MentorAssignment,
    PlanItem,
    PlanItemEvent,
    Role,
    User,
)

YEAR = 2026
TODAY = date(2026, 11, 22)
NOW = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Moscow")
#: the officer whose /report list is timed: regional (no municipality), never stored
REGIONAL = User(role=Role.OFFICER, municipality=None)
ITEMS = 20
CHUNK = 5000
MUNICIPALITIES = [f"Муниципальный район № {n}" for n in range(1, 11)]
SURNAMES = ["Иванова", "Петров", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева"]


def rss_mib() -> float:
    """Peak resident set size of this process so far (``VmHWM``: unlike ``ru_maxrss`` it is
    not inherited from the parent process)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def insert_rows(db: Database, model: Any, rows: list[dict[str, Any]]) -> None:
    """Bulk INSERT (Core executemany on the model's table) in chunks, a transaction each."""
    for start in range(0, len(rows), CHUNK):
        async with db.session() as repo:
            await repo.session.execute(model.__table__.insert(), rows[start : start + CHUNK])


async def fill(db: Database, count: int) -> None:
    """The reservists, mentors, plans, items, history, assignments and consultations."""
    rng = random.Random(7)
    async with db.session() as repo:
        activities = await repo.activities.active()
    windows = [
        (a, n, w)
        for a in activities
        if a.for_reservists
        for n, w in enumerate(windows_in_year(a.schedule, YEAR))
    ]
    mentors = [
        {"id": 100_000 + m, "role": "mentor", "full_name": f"Наставник {m} Ивановна",
         "organisation": f"СОШ № {m % 400 + 1}", "municipality": MUNICIPALITIES[m % 10],
         "registered_at": NOW, "active": True, "muted": False, "created_at": NOW}
        for m in range(max(count // 20, 1))
    ]  # fmt: skip
    users, plans, items, assignments, consultations = [], [], [], [], []
    statuses = ["included"] * 6 + ["training"] * 2 + ["appointed", "excluded"]
    item_id = 0
    done_items: list[tuple[int, int]] = []
    for n in range(count):
        uid = n + 1
        users.append(
            {"id": uid, "role": "reservist", "telegram_id": 10_000_000 + n,
             "full_name": f"{SURNAMES[n % len(SURNAMES)]} Резервист {n} Петрович",
             "organisation": f"МБОУ СОШ № {n % 400 + 1}", "position": "Заместитель директора",
             "municipality": MUNICIPALITIES[n % 10], "reserve_status": statuses[n % 10],
             "cohort_year": 2024 + n % 3, "registered_at": NOW - timedelta(days=300),
             "active": True, "muted": False, "created_at": NOW}
        )  # fmt: skip
        plans.append({"id": uid, "user_id": uid, "year": YEAR, "created_at": NOW})
        for k in range(ITEMS):
            item_id += 1
            if k < len(windows):
                activity, occurrence, window = windows[k]
                title, kind, activity_id = activity.title, activity.kind, activity.id
                starts, due = window.starts_on, window.due_on
            else:
                title, kind, activity_id, occurrence = f"Личный пункт {k}", "other", None, 0
                starts, due = date(YEAR, k % 12 + 1, 1), date(YEAR, k % 12 + 1, 28)
            # a fifth of the reservists have done everything (even December's items)
            done = n % 5 == 0 or (rng.random() < 0.6 and (due is None or due <= TODAY))
            confirmed = done and rng.random() < 0.33
            items.append(
                {"id": item_id, "plan_id": uid, "activity_id": activity_id,
                 "occurrence": occurrence, "kind": kind, "starts_on": starts,
                 # as the bot stores it: a planned roadmap item reads its activity's title
                 "title": title if done or activity_id is None else None,
                 "due_on": due, "status": "done" if done else "planned",
                 "done_on": min(due or TODAY, TODAY) if done else None,
                 "comment": "Выполнено" if done else None,
                 "evidence_kind": "document" if confirmed else None,
                 "evidence_name": f"Сертификат_{uid}_{k}.pdf" if confirmed else None,
                 "evidence_file_id": f"F{uid}_{k}" if confirmed else None,
                 "personal": activity_id is None, "archived": False,
                 "needs_confirmation": False,
                 "confirmed_by": mentors[n % len(mentors)]["id"] if confirmed else None,
                 "confirmed_at": NOW if confirmed else None,
                 "created_at": NOW, "updated_at": NOW}
            )  # fmt: skip
            if done:
                done_items.append((item_id, uid))
        if n % 2 == 0:
            assignments.append(
                {"reservist_id": uid, "mentor_id": mentors[n % len(mentors)]["id"],
                 "started_at": NOW - timedelta(days=200)}
            )  # fmt: skip
        if n % 3 == 0:
            consultations.append(
                {"reservist_id": uid, "mentor_id": mentors[n % len(mentors)]["id"],
                 "logged_by": uid, "held_on": date(YEAR, 4, 10), "format": "online",
                 "topic": "Подготовка к собеседованию", "minutes": 45,
                 "status": "confirmed" if n % 2 else "pending", "created_at": NOW}
            )  # fmt: skip
    events = [
        {"item_id": i, "actor_id": uid, "action": "done", "data": {},
         "at": NOW - timedelta(minutes=i % 100_000)}
        for i, uid in done_items
    ]  # fmt: skip
    for model, rows in (
        (User, mentors), (User, users), (IndividualPlan, plans), (PlanItem, items),
        (PlanItemEvent, events), (MentorAssignment, assignments), (Consultation, consultations),
    ):  # fmt: skip
        await insert_rows(db, model, rows)
    print(
        f"data: {len(users)} reservists, {len(items)} plan items ({len(done_items)} done), "
        f"{len(events)} history entries, {len(assignments)} mentor pairs, "
        f"{len(consultations)} consultations"
    )


async def timed_export(db: Database, area: str | None, *, as_csv: bool) -> tuple[float, int]:
    """(seconds, bytes) of one export, committed like the bot does."""
    started = time.perf_counter()
    async with db.session() as repo:
        built = await ExportService(repo).export(
            None, area, YEAR, today=TODAY, zone=ZONE, now=NOW, csv_format=as_csv
        )
    return time.perf_counter() - started, len(built.content)


HERE = Path(__file__).resolve()
PROBE_EVERY = 0.05


def cpu() -> float:
    return time.process_time()


def children_cpu() -> float:
    """CPU seconds of the ended child processes (the export's children), in all."""
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


class Probe:
    """Another user's request every 50 ms while something runs: a one-row query in its own
    session (of its own engine: not counted with the export's statements); records how long
    each took from its start to its answer."""

    def __init__(self, db: Database) -> None:
        self.db = Database(db.url)
        self.waits: list[float] = []
        self.task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            started = time.perf_counter()
            async with self.db.session() as repo:
                await repo.session.execute(select(User.full_name).where(User.id == 77))
            self.waits.append(time.perf_counter() - started)
            await asyncio.sleep(PROBE_EVERY)

    async def __aenter__(self) -> Probe:
        self.task = asyncio.ensure_future(self._loop())
        return self

    async def __aexit__(self, *_: object) -> None:
        assert self.task is not None
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)
        await self.db.dispose()

    def worst(self) -> float:
        return max(self.waits, default=0.0)


def library_floor(exports: Any, data: Any) -> int:
    """The floor of the build: the same cells (``data``'s, as ``exports`` lays them out) written
    with XlsxWriter in constant-memory mode and nothing else: no headers, widths, filters,
    formats but the dates', no cleaning of strings. Returns the cells written."""
    import xlsxwriter  # type: ignore[import-untyped]  # noqa: PLC0415

    book = xlsxwriter.Workbook(io.BytesIO(), {"constant_memory": True, "strings_to_urls": False})
    when = book.add_format({"num_format": exports.DATE_FORMAT})
    _, _, groups = exports._group_sheet(data)
    tables = [list(exports.reservist_values(data)), exports._indicator_rows(data), groups]
    tables += [activity.entries for activity in data.activities]
    cells = 0
    for number, rows in enumerate(tables):
        sheet = book.add_worksheet(f"{number}")
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, str):
                    sheet.write_string(r, c, value)
                elif isinstance(value, int | float):
                    sheet.write_number(r, c, value)
                else:
                    sheet.write_datetime(r, c, value, when)
                cells += 1
    book.close()
    return cells


async def child(path: Path) -> dict[str, float]:
    """One measured run in this process: the figures as a dict (seconds, MiB, counts)."""
    from bot.services import exports  # noqa: PLC0415 - of the tree on PYTHONPATH
    from bot.services.year_report import (  # noqa: PLC0415
        YearReportService,
        build_year_report,
    )

    db = Database(f"sqlite+aiosqlite:///{path}")
    out: dict[str, float] = {}
    async with db.session() as repo:  # open the database, warm the ORM
        await repo.session.execute(select(User.id).limit(1))

    import handlers.reports as handler  # noqa: PLC0415 - imported at the bot's start

    async def kpi(chart: bool) -> float:
        started = time.perf_counter()
        loading = None
        if chart and hasattr(handler, "CHARTS"):  # the import overlaps the queries
            loading = asyncio.ensure_future(
                asyncio.to_thread(importlib.import_module, handler.CHARTS)
            )
        async with db.session() as repo:
            report = await IndicatorService(repo).report(
                None, YEAR, TODAY, group_limit=handler.CHART_GROUPS
            )
        if chart:
            module = (
                await loading
                if loading is not None
                else await asyncio.to_thread(importlib.import_module, "bot.services.charts")
            )
            png = await asyncio.to_thread(module.indicators_chart, report.groups, "Показатели")
            out["chart_kib"] = len(png) / 1024
        return time.perf_counter() - started

    out["kpi_chart_cold"] = await kpi(True)
    out["kpi_chart"] = await kpi(True)
    out["kpi"] = await kpi(False)

    queries = 0

    def count_query(*_: object) -> None:
        nonlocal queries
        queries += 1

    event.listen(db.engine.sync_engine, "before_cursor_execute", count_query)
    rss_before, cpu_before, children_before = rss_mib(), cpu(), children_cpu()
    with capture_logs() as logs:  # the child's peak memory: in its "export built"
        async with Probe(db) as probe:
            out["xlsx"], size = await timed_export(db, None, as_csv=False)
    out["xlsx_cpu"] = cpu() - cpu_before
    out["xlsx_rss_growth"] = rss_mib() - rss_before
    for entry in logs:
        if entry["event"] == "export built":  # built in a child process
            out["xlsx_child_cpu"] = children_cpu() - children_before
            out["xlsx_child_rss"] = entry["child_peak_mib"]
    out["xlsx_worst_wait"] = probe.worst()
    out["xlsx_mib"] = size / 2**20
    out["xlsx_sql"] = queries
    event.remove(db.engine.sync_engine, "before_cursor_execute", count_query)

    gc.disable()  # as the export's child process reads and builds (bot.services.export_child)
    try:
        async with db.session() as repo:
            started, before = time.perf_counter(), cpu()
            data = await exports.ExportService(repo).collect(None, YEAR, TODAY, ZONE, NOW)
            out["xlsx_collect"], out["xlsx_collect_cpu"] = (
                time.perf_counter() - started,
                cpu() - before,
            )
        started, before = time.perf_counter(), cpu()
        exports.build_workbook(data)
        out["xlsx_build"], out["xlsx_build_cpu"] = time.perf_counter() - started, cpu() - before
        if hasattr(exports, "_group_sheet"):  # the layout of the trees since 2026-12-02
            before = cpu()
            out["xlsx_cells"] = library_floor(exports, data)
            out["xlsx_floor_cpu"] = cpu() - before
        del data
    finally:
        gc.enable()

    async with Probe(db) as probe:
        out["csv"], _ = await timed_export(db, None, as_csv=True)
    out["csv_worst_wait"] = probe.worst()
    out["xlsx_municipality"], _ = await timed_export(db, MUNICIPALITIES[0], as_csv=False)

    async with db.session() as repo:
        service = YearReportService(repo)
        started = time.perf_counter()
        # a regional officer's first page of /report's list (handlers/reports.py)
        listed = await search_people(repo, REGIONAL, Pool(Role.RESERVIST), None, 1)
        out["report_list"] = time.perf_counter() - started
        started = time.perf_counter()
        report = await service.collect(None, listed.people[0].id, YEAR, TODAY, ZONE)
        await asyncio.to_thread(build_year_report, report)
        out["report_docx"] = time.perf_counter() - started
    out["rss_end"] = rss_mib()
    await db.dispose()
    return out


LABELS = {
    "kpi_chart_cold": "/kpi with the chart, first after a start, s",
    "kpi_chart": "/kpi with the chart, s",
    "kpi": "/kpi without the chart, s",
    "xlsx": "xlsx, whole region, s",
    "xlsx_cpu": "  the bot's process: CPU during it, s",
    "xlsx_child_cpu": "  the export's child process: CPU, s",
    "xlsx_child_rss": "  the export's child process: peak RSS, MiB",
    "xlsx_collect": "  reading (collect), s",
    "xlsx_collect_cpu": "  reading, CPU s",
    "xlsx_build": "  build of the file, s",
    "xlsx_build_cpu": "  build, CPU s",
    "xlsx_cells": "  cells written (but the headers)",
    "xlsx_floor_cpu": "  the same cells, XlsxWriter alone (floor), CPU s",
    "xlsx_sql": "  SQL statements of the bot's process (incl. the audit insert)",
    "xlsx_rss_growth": "  the bot's process: peak RSS growth, MiB",
    "xlsx_worst_wait": "  another user's request meanwhile: longest, s",
    "xlsx_mib": "  file size, MiB",
    "csv": "csv, whole region, s",
    "csv_worst_wait": "  another user's request meanwhile: longest, s",
    "xlsx_municipality": "xlsx, one municipality, s",
    "report_list": "/report: the first page of its list of reservists, s",
    "report_docx": "/report: one reservist's .docx, s",
    "chart_kib": "chart PNG, KiB",
    "rss_end": "peak RSS of the run, MiB",
}


async def run_child(tree: Path, path: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(HERE), "--child", "--db", str(path), cwd=tree, env=env,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await proc.communicate()
    if proc.returncode:
        msg = f"the run in {tree} failed ({proc.returncode})"
        raise RuntimeError(msg)
    result: dict[str, float] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def spread(values: list[float]) -> str:
    digits = 0 if max(values, default=0) >= 100 else 2
    return " / ".join(f"{v:.{digits}f}" for v in (min(values), median(values), max(values)))


async def main(count: int, runs: int, reference: Path | None, reuse: Path | None) -> None:
    path = reuse or Path(tempfile.mkdtemp(prefix="bench-export-")) / "b.db"
    if reuse is None:
        db = Database(f"sqlite+aiosqlite:///{path}")
        settings = load_settings(_env_file=None, database_url=db.url)
        await prepare_database(settings, db)
        started = time.perf_counter()
        await fill(db, count)
        await db.dispose()
        print(f"setup in {time.perf_counter() - started:.1f} s (database {path})")
    trees = [("this tree", HERE.parents[1])]
    if reference is not None:
        trees.insert(0, ("reference", reference))
    results: dict[str, list[dict[str, float]]] = {name: [] for name, _ in trees}
    for run in range(runs):
        for name, tree in trees if run % 2 == 0 else trees[::-1]:
            results[name].append(await run_child(tree, path))
            print(f"run {run + 1}/{runs}, {name}: done", flush=True)
    print(f"\nmin / median / max of {runs} runs; {os.getloadavg()[0]:.1f} load average now")
    header = f"{'':48}" + "".join(f"{name:>26}" for name, _ in trees)
    print(header)
    for key, label in LABELS.items():
        cells = []
        for name, _ in trees:
            values = [r[key] for r in results[name] if key in r]
            cells.append(spread(values) if values else "—")
        print(f"{label:48}" + "".join(f"{c:>26}" for c in cells))


if __name__ == "__main__":
    args = sys.argv[1:]
    database = Path(args[args.index("--db") + 1]) if "--db" in args else None
    if "--child" in args:
        assert database is not None
        print(json.dumps(asyncio.run(child(database))))
    else:
        values = {args[i + 1] for i, a in enumerate(args[:-1]) if a.startswith("--")}
        size = next((int(a) for a in args if a.isdigit() and a not in values), 10_000)
        reference = (
            Path(args[args.index("--reference") + 1]).resolve() if "--reference" in args else None
        )
        runs = int(args[args.index("--runs") + 1]) if "--runs" in args else 3
        asyncio.run(main(size, runs, reference, database))
