"""Personal data (152-ФЗ; issue 8): /delete_me erases every text and identifier of the person in
every table and in the database files, ends their mentor pairs; the consent journal; the purge of
unfinished dialogues."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
import os
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import structlog
from aiogram.fsm.storage.base import StorageKey
from sqlalchemy import event, select, text
from sqlalchemy.exc import DBAPIError

from bot.app import reminder_service
from bot.config import Settings
from bot.logs import configure_logging
from bot.services.lifecycle import LifecycleService, StatusStep
from bot.services.mentoring import MentoringService
from bot.services.people import PeopleService, Profile
from bot.services.plans import PlanService
from bot.services.year_report import YearReportService
from bot.texts import CONSENT, CONSENT_VERSION
from handlers import start
from scheduler.jobs import create_scheduler, purge_dialogues
from storage.broadcast_models import BroadcastDelivery
from storage.broadcast_repo import Recipient
from storage.db import Database
from storage.fsm import DatabaseStorage
from storage.models import (
    Base,
    ConsentRecord,
    ConsentText,
    Consultation,
    FsmState,
    Invite,
    MentorAssignment,
    PlanItem,
    ReserveStatus,
    Role,
    User,
)
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, last_with_buttons, texts_of
from tests.test_handlers_mentoring import register_as, to
from tests.test_handlers_registration import invite_code

RES_TG = 7_123_456_789  # six bytes in a SQLite record: searched for in binary too
MENTOR_TG = 7_222_333_444
BOT_ID = 42

# everything the reservist typed or that names him; none may survive the deletion
NAME = "Зиновьева Агата Феликсовна"
ORGANISATION = "Лицей Уникальный-4711"
POSITION = "Завуч-ЭКСПЕРИМЕНТ"
SECRETS = {
    "name": NAME,
    "organisation": ORGANISATION,
    "position": POSITION,
    "comment": "КОММЕНТАРИЙ-ФЛАМИНГО",
    "evidence file id": "FILEID-ZEBRA-0042",
    "evidence name": "ДИПЛОМ-ЖИРАФ.pdf",
    "personal item": "ЛИЧНЫЙ-ПУНКТ-КАПИБАРА",
    "roadmap item comment": "ОТМЕТКА-ПИНГВИН",
    "topic": "ТЕМА-ОЦЕЛОТ",
    "note": "ЗАМЕТКА-ТАПИР",
    "declined topic": "ТЕМА-ЯК-ОТКЛОНЕНА",
    "decline reason": "ПРИЧИНА-ВОМБАТ",
    "pending topic": "ТЕМА-ЛАМА-ЖДЁТ",
    "mentor's comment": "ОТЗЫВ-НАСТАВНИКА-КОАЛА",
    "conclusion": "ЗАКЛЮЧЕНИЕ-НАРВАЛ по итогам года",
    "exclusion reason": "ПРИЧИНА-ИСКЛ-БОБР",
    "order number": "ПРИКАЗ-77-ОКАПИ",
    "dialogue draft": "ЧЕРНОВИК-ХОМЯК",
    "telegram id": str(RES_TG),
}


async def _register(
    repo_db: Database, tg_id: int, role: Role, profile: Profile, now: datetime
) -> User:
    async with repo_db.session() as repo:
        officer = await repo.users.by_telegram(OFFICER_TG)
        assert officer is not None
        people = PeopleService(repo)
        invite = await people.create_invite(officer, role, now=now, ttl=timedelta(days=1))
        return await people.register(
            tg_id,
            invite.code,
            profile,
            consent_version=CONSENT_VERSION,
            consent_at=now,
            now=now,
            today=now.date(),
        )


async def reservist_with_everything(db: Database, clock: FakeClock) -> tuple[User, User]:
    """A reservist with every kind of data (through the services and repositories) and his
    mentor. Returns (reservist, mentor)."""
    now = clock()
    today = now.date()
    res = await _register(
        db, RES_TG, Role.RESERVIST, Profile(NAME, ORGANISATION, POSITION, "Петровский район"), now
    )
    mentor = await _register(
        db,
        MENTOR_TG,
        Role.MENTOR,
        Profile("Кузнецова Анна Сергеевна", "МБОУ СОШ № 2", "Директор", "Петровский район"),
        now,
    )
    async with db.session() as repo:
        officer = await repo.users.by_telegram(OFFICER_TG)
        assert officer is not None
        res = await repo.users.get(res.id)  # type: ignore[assignment]
        mentor = await repo.users.get(mentor.id)  # type: ignore[assignment]
        mentoring = MentoringService(repo)
        await mentoring.assign(officer, res.id, mentor.id, now)
        plans = PlanService(repo)
        personal = await plans.add_personal(res, SECRETS["personal item"], 11, 2026, today)
        await plans.mark_done(
            res,
            personal.id,
            done_on=today,
            comment=SECRETS["comment"],
            evidence=(SECRETS["evidence file id"], "document", SECRETS["evidence name"]),
            today=today,
        )
        plan = await repo.plans.plan(res.id, 2026)
        assert plan is not None
        roadmap_item = next(
            i
            for i in await repo.plans.items(plan.id)
            if not i.personal and i.starts_on is not None and i.starts_on <= today
        )
        await plans.mark_done(
            res,
            roadmap_item.id,
            done_on=today,
            comment=SECRETS["roadmap item comment"],
            evidence=None,
            today=today,
        )
        await mentoring.comment_item(mentor, personal.id, SECRETS["mentor's comment"], now)
        confirmed, _ = await mentoring.log_consultation(
            res, reservist_id=None, held_on=today, fmt="online", topic=SECRETS["topic"],
            minutes=45, note=SECRETS["note"], item_id=None, today=today,
        )  # fmt: skip
        await mentoring.decide(mentor, confirmed.id, confirm=True, reason=None, now=now)
        declined, _ = await mentoring.log_consultation(
            mentor, reservist_id=res.id, held_on=today, fmt="phone",
            topic=SECRETS["declined topic"], minutes=30, note=None, item_id=None, today=today,
        )  # fmt: skip
        await mentoring.decide(
            res, declined.id, confirm=False, reason=SECRETS["decline reason"], now=now
        )
        await mentoring.log_consultation(
            res, reservist_id=None, held_on=today, fmt="in_person",
            topic=SECRETS["pending topic"], minutes=20, note=None, item_id=None, today=today,
        )  # fmt: skip
        await YearReportService(repo).save_conclusion(
            officer.id, None, res.id, 2026, SECRETS["conclusion"], now
        )
        lifecycle = LifecycleService(repo)
        await lifecycle.change(
            officer,
            res.id,
            StatusStep(ReserveStatus.EXCLUDED, today, reason=SECRETS["exclusion reason"]),
            now,
        )
        await lifecycle.change(
            officer,
            res.id,
            StatusStep(ReserveStatus.INCLUDED, today, order_number=SECRETS["order number"]),
            now,
        )
        broadcasts = repo.broadcasts
        broadcast = await broadcasts.create(
            created_by=officer.id,
            content={"parts": [{"kind": "text", "text": "Совещание в пятницу"}]},
            audience={},
            rsvp=True,
            at=now,
        )
        assert broadcast is not None
        await broadcasts.add_recipients(broadcast.id, [Recipient(res.id, RES_TG)])
        await broadcasts.set_answer(broadcast.id, res.id, "yes", now)
    storage = DatabaseStorage(db)
    key = StorageKey(bot_id=BOT_ID, chat_id=RES_TG, user_id=RES_TG)
    await storage.set_state(key, "LogItem:comment")
    await storage.set_data(key, {"comment": SECRETS["dialogue draft"]})
    return res, mentor


async def every_row(db: Database) -> str:
    """Every value of every table, as text (the check that works on PostgreSQL too)."""
    parts = []
    async with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in (await conn.execute(table.select())).all():
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def _keep_deleted_bytes(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA secure_delete=OFF")
    cursor.close()


def sqlite_files(database_url: str) -> list[Path]:
    path = Path(database_url.split("///", 1)[1])
    return [p for p in (path, Path(f"{path}-wal")) if p.exists()]


def found_in(blob: bytes | str, value: str) -> bool:
    if isinstance(blob, str):
        return value in blob
    return value.encode() in blob


async def test_delete_me_erases_everything_he_entered(
    harness: Harness, db: Database, clock: FakeClock, database_url: str
) -> None:
    if db.dialect == "sqlite":
        # as a SQLite built without SECURE_DELETE (Debian's has it): deleted values stay in
        # the pages' free space, so the scrub must not count on it
        await db.engine.dispose()
        event.listen(db.engine.sync_engine, "connect", _keep_deleted_bytes)
    res, _ = await reservist_with_everything(db, clock)
    if db.dialect == "sqlite":
        # the bot has run a while: its write-ahead log was copied into the database file
        async with db.engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    before = await every_row(db)
    assert all(found_in(before, v) for v in SECRETS.values()), "the setup stores every secret"

    calls = await harness.send(RES_TG, "/delete_me")
    calls = await harness.press(RES_TG, last_with_buttons(calls).button("Да, удалить"))
    assert "удалены" in to(calls, RES_TG)
    # the mentor is told, without the deleted person's name
    told = to(calls, MENTOR_TG)
    assert "удалил свои данные" in told and NAME not in told
    await asyncio.gather(*start.SCRUBS)  # the files are scrubbed after the update's commit

    rows = await every_row(db)
    left = [label for label, value in SECRETS.items() if found_in(rows, value)]
    assert left == [], f"still in the tables: {left}"
    if db.dialect == "sqlite":
        files = sqlite_files(database_url)
        wal = [p for p in files if p.name.endswith("-wal")]
        assert all(p.stat().st_size == 0 for p in wal), "the write-ahead log was emptied"
        raw = b"".join(p.read_bytes() for p in files)
        left = [label for label, value in SECRETS.items() if found_in(raw, value)]
        assert left == [], f"still in the database files: {left}"
        assert RES_TG.to_bytes(6, "big") not in raw

    async with db.session() as repo:
        kept = await repo.users.get(res.id)
        assert kept is not None and kept.anonymised_at is not None
        assert kept.municipality == "Петровский район" and kept.role == "reservist"
        assert await repo.mentoring.active_assignment(res.id) is None
        # statuses and counts stay: the confirmed consultation still counts
        assert await repo.mentoring.confirmed_counts(2026) == {res.id: 1}
        statuses = sorted(
            c.status
            for c in await repo.session.scalars(
                select(Consultation).where(Consultation.reservist_id == res.id)
            )
        )
        assert statuses == ["confirmed", "declined", "declined"]
        plan = await repo.plans.plan(res.id, 2026)
        assert plan is not None
        done = [i for i in await repo.plans.items(plan.id) if i.status == "done"]
        assert len(done) == 2
        delivery = await repo.session.scalar(select(BroadcastDelivery))
        assert delivery is not None and delivery.chat_id == 0 and delivery.state == "failed"
        journal = (await repo.session.scalars(select(ConsentRecord))).all()
        mine = [r for r in journal if r.user_id == res.id]
        assert len(mine) == 1 and mine[0].withdrawn_at == clock()
        assert mine[0].version == CONSENT_VERSION
        fsm = (await repo.session.scalars(select(FsmState.key))).all()
        assert not any(str(RES_TG) in k for k in fsm)
    # he is a stranger now
    calls = await harness.send(RES_TG, "/plan")
    assert "по личной ссылке-приглашению" in texts_of(calls)


async def test_mentor_deletion_ends_pairs_and_mentor_coverage(
    harness: Harness, db: Database, clock: FakeClock
) -> None:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    res, mentor = 2001, 3001
    await register_as(harness, res, "reservist", "Иванова Мария Петровна")
    await register_as(harness, mentor, "mentor", "Кузнецова Анна Сергеевна")
    calls = await harness.send(OFFICER_TG, "/assign")
    calls = await harness.press(OFFICER_TG, last_with_buttons(calls).button("Иванова"))
    calls = await harness.press(OFFICER_TG, last_with_buttons(calls).buttons()[0][1])
    await harness.press(OFFICER_TG, last_with_buttons(calls).button("Кузнецова"))
    calls = await harness.send(OFFICER_TG, "/kpi")
    assert "Обеспеченность наставниками: <b>100,0 %</b> — 1 из 1" in texts_of(calls)

    calls = await harness.send(mentor, "/delete_me")
    calls = await harness.press(mentor, last_with_buttons(calls).button("Да, удалить"))
    assert "удалил свои данные" in to(calls, res)
    await asyncio.gather(*start.SCRUBS)

    calls = await harness.send(OFFICER_TG, "/kpi")
    assert "Обеспеченность наставниками: <b>0,0 %</b> — 0 из 1" in texts_of(calls)
    calls = await harness.send(res, "/consult")
    assert "ещё не назначен наставник" in texts_of(calls)
    calls = await harness.send(OFFICER_TG, "/pairs")
    assert "Кузнецова" not in texts_of(calls)
    async with db.session() as repo:
        pairs = (await repo.session.scalars(select(MentorAssignment))).all()
        assert len(pairs) == 1 and pairs[0].ended_at is not None


async def test_a_pair_left_with_a_deleted_mentor_does_not_count(
    harness: Harness, db: Database, clock: FakeClock
) -> None:
    """Data of older revisions: a mentor deleted while his pair stayed active."""
    res, mentor = await reservist_with_everything(db, clock)
    async with db.session() as repo:
        stored = await repo.users.get(mentor.id)
        assert stored is not None
        await repo.users.update(stored, full_name=None, telegram_id=None, anonymised_at=clock())
    async with db.session() as repo:
        reservist = await repo.users.get(res.id)
        assert reservist is not None
        assert await MentoringService(repo).current_mentor(reservist) is None
    calls = await harness.send(RES_TG, "/consult")
    assert "ещё не назначен наставник" in texts_of(calls)
    calls = await harness.send(OFFICER_TG, "/kpi")
    assert "Обеспеченность наставниками: <b>0,0 %</b> — 0 из 1" in texts_of(calls)


async def test_me_shows_the_consent_version_and_the_text_is_stored(
    harness: Harness, db: Database, clock: FakeClock
) -> None:
    await register_as(harness, 2001, "reservist", "Иванова Мария Петровна")
    calls = await harness.send(2001, "/me")
    async with db.session() as repo:
        stored = await repo.session.get(ConsentText, CONSENT_VERSION)
        assert stored is not None and stored.text == CONSENT
        journal = (await repo.session.scalars(select(ConsentRecord))).all()
        assert [(r.version, r.accepted_at, r.withdrawn_at) for r in journal] == [
            (CONSENT_VERSION, clock(), None)
        ]
    # published by migration 0007 (the PostgreSQL test database is emptied between tests: there
    # the first registration publishes the catalogue's text)
    published = "01.11.2026" if db.dialect == "sqlite" else "22.11.2026"
    expected = f"версия {CONSENT_VERSION} (текст от {published}), дано 22.11.2026 12:00"
    assert expected in texts_of(calls)


async def test_consents_command_exports_the_journal(
    harness: Harness, db: Database, clock: FakeClock, database_url: str, tmp_path: Path
) -> None:
    await register_as(harness, 2001, "reservist", "Иванова Мария Петровна")
    await register_as(harness, 2002, "reservist", "Смирнов Олег Игоревич")
    async with db.session() as repo:  # e.g. imported from a list: a spreadsheet formula
        kept_user = await repo.users.by_telegram(2002)
        assert kept_user is not None
        await repo.users.update(kept_user, full_name="=Смирнов Олег Игоревич")
    calls = await harness.send(2001, "/delete_me")
    clock.advance(hours=1)
    await harness.press(2001, last_with_buttons(calls).button("Да, удалить"))
    await asyncio.gather(*start.SCRUBS)
    await db.dispose()  # the command line opens the database itself

    out = tmp_path / "consents.csv"
    env = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(tmp_path),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "consents", "--out", str(out), env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, stderr.decode()
    assert "exported 2 consent record(s)" in stdout.decode()
    rows = list(csv.reader(io.StringIO(out.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert rows[0][0] == "Версия согласия"
    withdrawn, kept = rows[1], rows[2]
    assert withdrawn[0] == CONSENT_VERSION and withdrawn[1].startswith("2026-11-22T09:00")
    assert withdrawn[2].startswith("2026-11-22T10:00") and withdrawn[4] == ""
    assert kept[2] == "" and kept[4] == "'=Смирнов Олег Игоревич"
    assert "Иванова" not in out.read_bytes().decode("utf-8-sig")


async def test_unfinished_registration_is_purged_after_pending_data_days(
    harness: Harness, db: Database, settings: Settings
) -> None:
    calls = await harness.send(OFFICER_TG, "/invite reservist")
    code = texts_of(calls).split("start=")[1].split()[0]
    calls = await harness.send(2001, f"/start {code}")
    await harness.press(2001, last_with_buttons(calls).button("Согласен"))
    await harness.send(2001, "Брошенная Регистрация Ивановна")
    await harness.send(2001, "Школа Незаконченная")
    assert "Брошенная" in await every_row(db)

    now = datetime.now(UTC)
    assert settings.pending_data_days == 7
    assert await purge_dialogues(db, settings, now + timedelta(days=6)) == 0
    assert "Брошенная" in await every_row(db)
    assert await purge_dialogues(db, settings, now + timedelta(days=7, minutes=1)) == 1
    rows = await every_row(db)
    assert "Брошенная" not in rows and "Незаконченная" not in rows
    # the dialogue is gone: the next answer is a stranger's message
    calls = await harness.send(2001, "Учитель")
    assert "по личной ссылке-приглашению" in texts_of(calls)


async def test_migration_stores_the_consent_text_and_journals_old_consents(
    empty_db: Database,
) -> None:
    from storage import migrate  # noqa: PLC0415

    await migrate.upgrade(empty_db.engine, "0006")
    at = datetime(2026, 11, 10, 8, 0)
    async with empty_db.engine.begin() as conn:
        for uid, gone in ((1, None), (2, at)):
            await conn.execute(
                text(
                    "INSERT INTO users (id, telegram_id, role, full_name, muted, active, "
                    "consent_version, consent_at, created_at, anonymised_at) VALUES "
                    "(:id, :tg, 'reservist', :name, false, true, '2026-11', :at, :at, :gone)"
                ),
                {"id": uid, "tg": None if gone else 500 + uid, "name": None if gone else "Имя",
                 "at": at, "gone": gone},
            )  # fmt: skip
        await conn.execute(
            text(
                "INSERT INTO mentor_assignments (reservist_id, mentor_id, started_at) "
                "VALUES (1, 2, :at)"
            ),
            {"at": at},
        )
    await migrate.upgrade(empty_db.engine, "0007")
    async with empty_db.engine.connect() as conn:
        texts_ = (await conn.execute(text("SELECT version, text FROM consent_texts"))).all()
        assert texts_ == [(CONSENT_VERSION, CONSENT)]
        journal = (
            await conn.execute(
                text("SELECT user_id, version, withdrawn_at FROM consents ORDER BY user_id")
            )
        ).all()
        assert [(r[0], r[1], r[2] is not None) for r in journal] == [
            (1, CONSENT_VERSION, False),
            (2, CONSENT_VERSION, True),
        ]
        ended = await conn.scalar(text("SELECT ended_at FROM mentor_assignments"))
        assert ended is not None  # the pair with a deleted mentor was ended
    await migrate.downgrade(empty_db.engine, "0006")


class _Records(logging.Handler):
    """Every record's message and traceback, as the root logger got them."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name} {record.getMessage()} {record.exc_text or ''}")
        if record.exc_info and record.exc_info[1] is not None:
            self.lines.append(repr(record.exc_info[1]))


@pytest.fixture
def debug_logs() -> Iterator[Callable[[], str]]:
    """Logging configured as the bot does at LOG_LEVEL=DEBUG; returns everything logged
    (the rendered lines, as they would reach stderr, and the raw records)."""
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    configure_logging("DEBUG", "console")
    rendered = io.StringIO()
    stream = root.handlers[0]
    assert isinstance(stream, logging.StreamHandler)
    stream.setStream(rendered)
    records = _Records()
    root.addHandler(records)

    def logged() -> str:
        return rendered.getvalue() + "\n" + "\n".join(records.lines)

    try:
        yield logged
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
        structlog.reset_defaults()


async def test_logs_hold_no_personal_data_at_debug(
    harness: Harness, db: Database, clock: FakeClock, debug_logs: Callable[[], str]
) -> None:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    typed = {
        "Пещерская Ольга Тимуровна",
        "Гимназия Лазурная-9",
        "Методист-эксперт",
        "Округ Туманный",
        "Наставникова Вера Ильинична",
        "Тренинг ЛОГ-ПЕЛИКАН пройден",
        "Рекомендация ЛОГ-СУРИКАТ",
        "Диплом-ЛОГ-ЕНОТ.pdf",
    }
    code = await invite_code(harness, "reservist")
    calls = await harness.send(2001, f"/start {code}")
    await harness.press(2001, last_with_buttons(calls).button("Согласен"))
    for answer in ("Пещерская Ольга Тимуровна", "Гимназия Лазурная-9", "Методист-эксперт"):
        await harness.send(2001, answer)
    calls = await harness.send(2001, "Округ Туманный")
    assert "зарегистрированы" in texts_of(calls)
    mentor_code = await invite_code(harness, "mentor")
    calls = await harness.send(3001, f"/start {mentor_code}")
    await harness.press(3001, last_with_buttons(calls).button("Согласен"))
    for answer in ("Наставникова Вера Ильинична", "Гимназия Лазурная-9", "Директор"):
        await harness.send(3001, answer)
    await harness.send(3001, "Округ Туманный")
    calls = await harness.send(OFFICER_TG, "/assign")
    calls = await harness.press(OFFICER_TG, last_with_buttons(calls).button("Пещерская"))
    calls = await harness.press(OFFICER_TG, last_with_buttons(calls).buttons()[0][1])
    await harness.press(OFFICER_TG, last_with_buttons(calls).button("Наставникова"))

    calls = await harness.send(2001, "/log")
    calls = await harness.press(2001, last_with_buttons(calls).button("Психологические тренинги"))
    calls = await harness.press(2001, last_with_buttons(calls).button("Сегодня"))
    await harness.send(2001, "Тренинг ЛОГ-ПЕЛИКАН пройден")
    calls = await harness.send_document(2001, "Диплом-ЛОГ-ЕНОТ.pdf")
    assert "Выполнено 1 из" in texts_of(calls)
    calls = await harness.send(3001, "/mentees")
    calls = await harness.press(3001, last_with_buttons(calls).button("Пещерская"))
    calls = await harness.press(3001, last_with_buttons(calls).button("Психологические тренинги"))
    calls = await harness.press(3001, last_with_buttons(calls).button("Комментарий"))
    calls = await harness.send(3001, "Рекомендация ЛОГ-СУРИКАТ")
    assert "ЛОГ-СУРИКАТ" in to(calls, 2001)

    async with db.session() as repo:
        item = await repo.session.scalar(select(PlanItem).where(PlanItem.status == "done"))
        assert item is not None and item.evidence_file_id
        typed |= {item.evidence_file_id, code, mentor_code}
    logged = debug_logs()
    assert "update handled" in logged  # DEBUG lines were written
    leaked = [line for line in logged.splitlines() if any(v in line for v in typed)]
    assert leaked == []


async def test_a_database_error_logs_no_parameters(
    db: Database, debug_logs: Callable[[], str]
) -> None:
    secret = "INVITE-CODE-SECRET-77"
    now = datetime.now(UTC)

    async def insert_twice() -> None:
        async with db.session() as repo:
            for _ in range(2):  # the second insert breaks the unique code
                repo.session.add(Invite(code=secret, role="reservist", expires_at=now))
                await repo.flush()

    with pytest.raises(DBAPIError) as caught:
        await insert_twice()
    assert secret not in str(caught.value)
    structlog.get_logger("test").error("database error", exc_info=caught.value)
    logged = debug_logs()
    assert "database error" in logged and "IntegrityError" in logged
    assert secret not in logged


async def test_the_scheduler_purges_dialogues(settings: Settings, db: Database) -> None:
    scheduler = create_scheduler(settings, db, reminder_service(settings, db, None))
    job = scheduler.get_job("dialogues.purge")
    assert job is not None and job.trigger.interval == timedelta(hours=1)
