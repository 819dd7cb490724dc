"""Officers' scope (issue 8, item 5), through the handlers: the roadmap a municipal officer
edits is their municipality's (the regional one changes only by a regional officer; a district
has its own roadmap or follows the region's); a municipal officer sees, stops, resumes and
resends only broadcasts to their municipality; ending another district's pair says so."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.services.broadcast import BroadcastService
from bot.services.delivery import RateLimiter
from bot.telegram import TelegramBroadcastTransport
from handlers.broadcast import RUNNING
from storage.broadcast_models import Broadcast
from storage.db import Database
from storage.models import Activity, IndividualPlan, PlanItem, Role, User
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, alert_of, last_with_buttons, texts_of
from tests.test_handlers_mentoring import register_as

RES_A, RES_B, MENTOR_B = 2001, 2002, 3002
OFF_A, OFF_B = 5001, 5002
PETROVSKY, KAMYSHIN = "Петровский район", "Камышинский район"

DISTRICT_ROADMAP = (
    "Мероприятия\tСроки\tОтветственные\tРезультаты\n"
    "Районный семинар для резервистов\tапрель\tОтдел образования\tУчастие резервистов\n"
    "Тренинг для резервистов района\tоктябрь\tОтдел образования\tУчастие резервистов\n"
).encode()


async def add_officer(db: Database, tg_id: int, municipality: str | None) -> None:
    async with db.session() as repo:
        await repo.users.add(
            User(
                telegram_id=tg_id,
                role=Role.OFFICER,
                municipality=municipality,
                active=True,
                full_name=f"Специалист {tg_id}",
                registered_at=datetime(2026, 1, 1, tzinfo=UTC),
            )
        )


async def move(db: Database, tg_id: int, municipality: str) -> None:
    async with db.session() as repo:
        person = await repo.users.by_telegram(tg_id)
        assert person is not None
        await repo.users.update(person, municipality=municipality)


@pytest.fixture
async def world(harness: Harness, db: Database, clock: FakeClock) -> Harness:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    harness.dp["broadcasts"] = BroadcastService(
        db, TelegramBroadcastTransport(harness.bot), RateLimiter(1000, 0.0), clock
    )
    await register_as(harness, RES_A, "reservist", "Иванова Мария Петровна")
    await register_as(harness, RES_B, "reservist", "Смирнов Олег Игоревич")
    await register_as(harness, MENTOR_B, "mentor", "Кузнецова Анна Сергеевна")
    await move(db, RES_B, KAMYSHIN)
    await move(db, MENTOR_B, KAMYSHIN)
    await add_officer(db, OFF_A, PETROVSKY)
    await add_officer(db, OFF_B, f"  {KAMYSHIN.upper()} ")  # compared case-insensitively
    for tg in (RES_A, RES_B):
        await harness.send(tg, "/plan")  # this year's plans exist
    return harness


async def live_titles(db: Database, tg_id: int) -> set[str]:
    """Titles of the live (not archived) items of the person's plans."""
    async with db.session() as repo:
        person = await repo.users.by_telegram(tg_id)
        assert person is not None
        rows = await repo.session.scalars(
            select(PlanItem.title)
            .join(IndividualPlan, IndividualPlan.id == PlanItem.plan_id)
            .where(IndividualPlan.user_id == person.id, PlanItem.archived.is_(False))
        )
        return set(rows.all())


async def activity_id(db: Database, title: str, municipality: str | None) -> int:
    async with db.session() as repo:
        rows = (await repo.session.scalars(select(Activity))).all()
    return next(
        a.id
        for a in rows
        if a.title.startswith(title) and (a.municipality or None) == municipality
    )


async def test_municipal_roadmap_scope(world: Harness, db: Database) -> None:
    regional_b = await live_titles(db, RES_B)
    assert any("тренинг" in t.casefold() for t in regional_b)
    trainings = await activity_id(db, "Психологические тренинги", None)

    # a district that follows the region: it reads the regional roadmap, changes nothing
    calls = await world.send(OFF_A, "/roadmap")
    assert "следует региональной дорожной карте" in texts_of(calls)
    calls = await world.press(OFF_A, f"act:open:{trainings}")
    card = last_with_buttons(calls)
    assert [t for t, _ in card.buttons()] == ["« К дорожной карте"]
    for action in ("remove", "rename", "reschedule", "flag_res", "flag_conf"):
        calls = await world.press(OFF_A, f"act:{action}:{trainings}")
        assert "региональной дорожной карты" in alert_of(calls), action
        assert len(alert_of(calls)) <= 200
    calls = await world.press(OFF_A, "act:add:0")
    assert "следует региональной дорожной карте" in alert_of(calls)
    assert len(alert_of(calls)) <= 200
    assert await live_titles(db, RES_B) == regional_b

    # its own roadmap: its reservists follow it, the other district keeps the region's
    calls = await world.send_document(OFF_A, "roadmap.txt", DISTRICT_ROADMAP)
    assert f"Загружена дорожная карта муниципалитета «{PETROVSKY}»" in texts_of(calls)
    assert await live_titles(db, RES_A) == {
        "Районный семинар для резервистов",
        "Тренинг для резервистов района",
    }
    assert await live_titles(db, RES_B) == regional_b
    calls = await world.send(OFF_A, "/roadmap")
    assert f"Дорожная карта муниципалитета «{PETROVSKY}»" in texts_of(calls)
    assert "Районный семинар" in str(last_with_buttons(calls).buttons())
    assert "Психологические" not in str(last_with_buttons(calls).buttons())

    # district B cannot touch district A's activity: the reason names A
    seminar = await activity_id(db, "Районный семинар", PETROVSKY)
    for action in ("open", "remove", "rename", "flag_res"):
        calls = await world.press(OFF_B, f"act:{action}:{seminar}")
        assert f"муниципалитета «{PETROVSKY}»" in alert_of(calls), action
    assert "Районный семинар для резервистов" in await live_titles(db, RES_A)

    # A edits its own: only A's reservists' plans change
    calls = await world.press(OFF_A, f"act:remove:{seminar}")
    assert "убрано" in texts_of(calls)
    assert await live_titles(db, RES_A) == {"Тренинг для резервистов района"}
    assert await live_titles(db, RES_B) == regional_b
    calls = await world.press(OFF_A, "act:add:0")
    assert "Название мероприятия" in texts_of(calls)
    await world.send(OFF_A, "Районная стажировка резервистов")
    calls = await world.send(OFF_A, "май")
    assert "Сохранено" in texts_of(calls)
    assert "Районная стажировка резервистов" in await live_titles(db, RES_A)
    assert "Районная стажировка резервистов" not in await live_titles(db, RES_B)

    # the regional officer changes the regional roadmap: district A (own roadmap) unaffected
    before_a = await live_titles(db, RES_A)
    calls = await world.press(OFFICER_TG, f"act:remove:{trainings}")
    assert "убрано" in texts_of(calls)
    assert not any(t.startswith("Психологические тренинги") for t in await live_titles(db, RES_B))
    assert await live_titles(db, RES_A) == before_a
    # a regional import changes only the regional roadmap
    calls = await world.send_document(OFFICER_TG, "region.txt", DISTRICT_ROADMAP)
    assert "Загружена региональная дорожная карта" in texts_of(calls)
    assert await live_titles(db, RES_A) == before_a
    assert "Районный семинар для резервистов" in await live_titles(db, RES_B)


async def finished() -> None:
    await asyncio.wait_for(asyncio.gather(*list(RUNNING)), 10)


async def compose(world: Harness, officer: int, text: str, audience: str) -> None:
    calls = await world.send(officer, "/broadcast")
    await world.send(officer, text)
    calls = await world.press(officer, last_with_buttons(calls).button("Готово"))
    calls = await world.press(officer, last_with_buttons(calls).button(audience))
    calls = await world.press(officer, last_with_buttons(calls).button("Без кнопок"))
    await world.press(officer, last_with_buttons(calls).button("Отправить"))
    await finished()


async def broadcast_ids(db: Database) -> list[int]:
    async with db.session() as repo:
        rows = await repo.session.scalars(select(Broadcast.id).order_by(Broadcast.id))
        return list(rows.all())


async def test_municipal_officer_controls_only_their_broadcasts(
    world: Harness, db: Database
) -> None:
    await compose(world, OFFICER_TG, "Региональное совещание", "Всем")
    await compose(world, OFF_A, "Совещание Петровского района", "Всем")
    regional, district_a = await broadcast_ids(db)

    listing_a = texts_of(await world.send(OFF_A, "/broadcasts"))
    assert "Совещание Петровского района" in listing_a or f"№{district_a}" in listing_a
    assert f"№{regional}" not in listing_a
    listing_b = texts_of(await world.send(OFF_B, "/broadcasts"))
    assert "пока не было" in listing_b or "Рассылок" in listing_b
    assert f"№{district_a}" not in listing_b and f"№{regional}" not in listing_b
    listing = texts_of(await world.send(OFFICER_TG, "/broadcasts"))
    assert f"№{regional}" in listing and f"№{district_a}" in listing

    for officer, target in ((OFF_A, regional), (OFF_B, regional), (OFF_B, district_a)):
        for action in ("stop", "resume", "resend"):
            calls = await world.press(officer, f"bctl:{action}:{target}")
            alert = alert_of(calls)
            assert "не в ваш муниципалитет" in alert, (officer, target, action, alert)
            assert len(alert) <= 200
    # their own: the usual answers (nothing to stop, nothing to resend)
    calls = await world.press(OFF_A, f"bctl:stop:{district_a}")
    assert "не в ваш муниципалитет" not in alert_of(calls)
    calls = await world.press(OFFICER_TG, f"bctl:stop:{district_a}")
    assert "не в ваш муниципалитет" not in alert_of(calls)


async def test_ending_another_districts_pair_says_so(world: Harness, db: Database) -> None:
    async with db.session() as repo:
        reservist = await repo.users.by_telegram(RES_B)
        assert reservist is not None
    await world.send(OFFICER_TG, "/assign")
    calls = await world.press(OFFICER_TG, f"asg:assign:{reservist.id}")
    mentor_button = last_with_buttons(calls).button("Кузнецова")
    calls = await world.press(OFFICER_TG, mentor_button)
    assert "Кузнецова" in texts_of(calls)

    calls = await world.press(OFF_A, f"asg:end:{reservist.id}")
    alert = alert_of(calls)
    assert "не из вашего муниципалитета" in alert and PETROVSKY in alert
    assert "нет действующего наставника" not in alert
    calls = await world.press(OFF_A, f"asg:assign:{reservist.id}")
    assert "не из вашего муниципалитета" in alert_of(calls)
    # the district's own officer ends it
    calls = await world.press(OFF_B, f"asg:end:{reservist.id}")
    assert "не из вашего муниципалитета" not in alert_of(calls)
    assert "Кузнецова" in texts_of(calls)


async def test_an_export_shows_no_other_districts_own_roadmap(
    world: Harness, db: Database
) -> None:
    """A district's own roadmap is its own: another district's officer's /export does not list
    its activities; its own officer's does."""
    import io  # noqa: PLC0415

    from openpyxl import load_workbook  # noqa: PLC0415

    from tests.test_handlers_reports import document_of  # noqa: PLC0415

    title = "Выездной семинар резервистов Камышинского района"
    async with db.session() as repo:
        repo.session.add(
            Activity(
                key="own-kamyshin-1",
                title=title,
                kind="seminar",
                schedule={"months": [4]},
                municipality=KAMYSHIN,
            )
        )

    def cells(data: bytes) -> str:
        book = load_workbook(io.BytesIO(data), read_only=True)
        return "\n".join(
            f"{sheet.title}\n"
            + "\n".join(str(v) for row in sheet.iter_rows(values_only=True) for v in row if v)
            for sheet in book.worksheets
        )

    _, data, _ = document_of(await world.send(OFF_A, "/export"))
    assert "Выездной семинар" not in cells(data)
    _, data, _ = document_of(await world.send(OFF_B, "/export"))
    assert title[:25] in cells(data)
