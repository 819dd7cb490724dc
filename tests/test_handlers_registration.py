"""Invites and registration through Dispatcher.feed_update: good and bad answers, refusals."""

from __future__ import annotations

import asyncio
import re

import pytest
from sqlalchemy import func, select

from bot import texts
from bot.services.people import AlreadyRegisteredError, PeopleService, Profile
from handlers import start
from storage.db import Database
from storage.models import ConsentRecord, IndividualPlan, Invite, User
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, alert_of, last_with_buttons, texts_of

RESERVIST_TG = 2001


async def invite_code(h: Harness, role: str = "reservist", extra: str = "") -> str:
    calls = await h.send(OFFICER_TG, f"/invite {role} {extra}".strip())
    match = re.search(r"https://t\.me/reserve_test_bot\?start=([\w-]+)", texts_of(calls))
    assert match, texts_of(calls)
    return match.group(1)


async def register(
    h: Harness, tg_id: int, code: str, municipality: str | None = "Петровский район"
) -> None:
    calls = await h.send(tg_id, f"/start {code}")
    await h.press(tg_id, last_with_buttons(calls).button("Согласен"))
    await h.send(tg_id, "Иванова Мария Петровна")
    await h.send(tg_id, "МБОУ СОШ № 1 с. Петровское")
    calls = await h.send(tg_id, "Заместитель директора по УВР")
    if municipality is not None:
        calls = await h.send(tg_id, municipality)
    assert "зарегистрированы" in texts_of(calls), texts_of(calls)


async def count_users(db: Database) -> int:
    async with db.session() as repo:
        return int(await repo.session.scalar(select(func.count()).select_from(User)) or 0)


async def test_stranger_is_refused_and_not_stored(harness: Harness, db: Database) -> None:
    before = await count_users(db)
    for text in ("/start", "Здравствуйте", "/plan", "/invite reservist"):
        calls = await harness.send(5555, text)
        assert "по личной ссылке-приглашению" in texts_of(calls)
    assert await count_users(db) == before


async def test_unknown_expired_and_used_invites(
    harness: Harness, db: Database, clock: FakeClock
) -> None:
    calls = await harness.send(5555, "/start nosuchcode")
    assert "не найдена" in texts_of(calls)

    code = await invite_code(harness)
    clock.advance(days=15)
    calls = await harness.send(5555, f"/start {code}")
    assert "истёк" in texts_of(calls)

    clock.advance(days=-15)
    code = await invite_code(harness)
    await register(harness, RESERVIST_TG, code)
    calls = await harness.send(5556, f"/start {code}")
    assert "уже использована" in texts_of(calls)
    assert await count_users(db) == 2  # the officer and one reservist


async def test_registration_with_bad_answers_then_good(harness: Harness, db: Database) -> None:
    code = await invite_code(harness)
    calls = await harness.send(RESERVIST_TG, f"/start {code}")
    assert "152-ФЗ" in texts_of(calls)
    # typing instead of pressing a consent button asks again
    calls = await harness.send(RESERVIST_TG, "да")
    assert "Вы даёте согласие?" in texts_of(calls)
    await harness.press(RESERVIST_TG, last_with_buttons(calls).button("Согласен"))

    calls = await harness.send(RESERVIST_TG, "Маша")
    assert "хотя бы два слова" in texts_of(calls)
    calls = await harness.send(RESERVIST_TG, "/plan")
    assert "не команда" in texts_of(calls)
    calls = await harness.send(RESERVIST_TG, "   ")
    assert "пустой" in texts_of(calls) or "хотя бы два слова" in texts_of(calls)
    calls = await harness.send(RESERVIST_TG, "иванова мария петровна")
    assert "организация" in texts_of(calls)

    calls = await harness.send(RESERVIST_TG, "x")
    assert "от 2 до 300" in texts_of(calls)
    calls = await harness.send(RESERVIST_TG, "МБОУ СОШ № 1")
    assert "должность" in texts_of(calls).lower()
    calls = await harness.send(RESERVIST_TG, "Учитель " * 40)
    assert "от 2 до 200" in texts_of(calls)
    await harness.send(RESERVIST_TG, "Учитель математики")
    assert await count_users(db) == 1  # nothing stored until the end
    calls = await harness.send(RESERVIST_TG, "Петровский район")
    assert "Иванова Мария Петровна" in texts_of(calls)
    assert any(c.method == "setMyCommands" for c in calls)

    async with db.session() as repo:
        user = await repo.users.by_telegram(RESERVIST_TG)
        assert user is not None
        assert (user.full_name, user.organisation, user.position, user.municipality) == (
            "Иванова Мария Петровна",
            "МБОУ СОШ № 1",
            "Учитель математики",
            "Петровский район",
        )
        assert user.role == "reservist"
        assert user.consent_version and user.consent_at is not None
        plans = await repo.session.scalar(select(func.count()).select_from(IndividualPlan))
        assert plans == 1
        invite = await repo.session.scalar(select(Invite))
        assert invite is not None and invite.uses == 1


async def test_refusing_consent_stores_nothing(harness: Harness, db: Database) -> None:
    code = await invite_code(harness)
    calls = await harness.send(RESERVIST_TG, f"/start {code}")
    calls = await harness.press(RESERVIST_TG, last_with_buttons(calls).button("Не согласен"))
    assert "ничего о вас не сохранили" in texts_of(calls)
    assert await count_users(db) == 1
    calls = await harness.send(RESERVIST_TG, "Иванова Мария Петровна")
    assert "по личной ссылке-приглашению" in texts_of(calls)


async def test_cancel_leaves_registration_without_saving(harness: Harness, db: Database) -> None:
    code = await invite_code(harness)
    calls = await harness.send(RESERVIST_TG, f"/start {code}")
    await harness.press(RESERVIST_TG, last_with_buttons(calls).button("Согласен"))
    await harness.send(RESERVIST_TG, "Иванова Мария Петровна")
    calls = await harness.send(RESERVIST_TG, "/cancel")
    assert "отменено" in texts_of(calls)
    assert await count_users(db) == 1
    # the link was not used up
    await register(harness, RESERVIST_TG, code)


async def test_invite_with_municipality_skips_that_question(
    harness: Harness, db: Database
) -> None:
    code = await invite_code(harness, "mentor", "3 Камышинский район")
    await register(harness, 3001, code, municipality=None)
    async with db.session() as repo:
        mentor = await repo.users.by_telegram(3001)
        assert mentor is not None
        assert mentor.role == "mentor" and mentor.municipality == "Камышинский район"
        plans = await repo.session.scalar(select(func.count()).select_from(IndividualPlan))
        assert plans == 0  # mentors have no plan


async def test_multi_use_invite(harness: Harness, db: Database) -> None:
    code = await invite_code(harness, "reservist", "2")
    await register(harness, 2001, code)
    await register(harness, 2002, code)
    calls = await harness.send(2003, f"/start {code}")
    assert "уже использована" in texts_of(calls)


async def test_invite_usage_errors(harness: Harness) -> None:
    for args in ("", "boss", "reservist 0", "reservist 5000"):
        calls = await harness.send(OFFICER_TG, f"/invite {args}".strip())
        assert "Использование: /invite" in texts_of(calls), args


async def test_registered_user_start_again(harness: Harness) -> None:
    code = await invite_code(harness)
    await register(harness, RESERVIST_TG, code)
    calls = await harness.send(RESERVIST_TG, "/start")
    assert "Здравствуйте, Иванова Мария Петровна" in texts_of(calls)
    other = await invite_code(harness)
    calls = await harness.send(RESERVIST_TG, f"/start {other}")
    assert "уже зарегистрированы" in texts_of(calls)


async def test_me_and_delete_me(harness: Harness, db: Database) -> None:
    code = await invite_code(harness)
    await register(harness, RESERVIST_TG, code)
    calls = await harness.send(RESERVIST_TG, "/me")
    text = texts_of(calls)
    assert "Иванова Мария Петровна" in text and "МБОУ СОШ № 1 с. Петровское" in text
    assert str(RESERVIST_TG) in text

    calls = await harness.send(RESERVIST_TG, "/delete_me")
    calls = await harness.press(RESERVIST_TG, last_with_buttons(calls).button("Нет"))
    assert "ничего не удалено" in texts_of(calls)

    calls = await harness.send(RESERVIST_TG, "/delete_me")
    calls = await harness.press(RESERVIST_TG, last_with_buttons(calls).button("Да, удалить"))
    assert "удалены" in texts_of(calls)
    await asyncio.gather(*start.SCRUBS)  # the database files are scrubbed after the commit
    async with db.session() as repo:
        assert await repo.users.by_telegram(RESERVIST_TG) is None
        users = (await repo.session.scalars(select(User).where(User.role == "reservist"))).all()
        assert len(users) == 1
        kept = users[0]
        assert kept.full_name is None and kept.organisation is None and kept.telegram_id is None
        assert kept.municipality == "Петровский район"  # kept for the department's counts
        assert kept.anonymised_at is not None
        consent = await repo.session.scalar(
            select(ConsentRecord).where(ConsentRecord.user_id == kept.id)
        )
        assert consent is not None and consent.withdrawn_at == kept.anonymised_at
    calls = await harness.send(RESERVIST_TG, "/plan")
    assert "по личной ссылке-приглашению" in texts_of(calls)


async def test_forged_consent_button_outside_registration(harness: Harness) -> None:
    calls = await harness.press(7777, "consent:yes")
    assert "по личной ссылке-приглашению" in alert_of(calls)


async def test_a_member_registering_again_is_refused_by_its_own_error(
    harness: Harness, db: Database, clock: FakeClock
) -> None:
    """A registered user who completes a second invite (a second device, a stale dialogue) gets
    AlreadyRegisteredError — not a ValueError that would also catch every InputError — and the
    second invite stays unused."""
    await register(harness, RESERVIST_TG, await invite_code(harness))
    code = await invite_code(harness)
    profile = Profile("Петрова Анна Ивановна", "МБОУ СОШ № 2", "Учитель", "Петровский район")
    async with db.session() as repo:
        with pytest.raises(AlreadyRegisteredError):
            await PeopleService(repo).register(
                RESERVIST_TG,
                code,
                profile,
                consent_version=texts.CONSENT_VERSION,
                consent_at=clock(),
                now=clock(),
                today=clock().date(),
            )
    async with db.session() as repo:
        invite = await repo.session.scalar(select(Invite).where(Invite.code == code))
    assert invite is not None and invite.uses == 0
    assert await count_users(db) == 2  # the officer and the reservist
