"""Telegram's limits everywhere (issue 8, item 7).

- Every text function of the catalogue (bot/texts and its chapters, found by introspection) is
  called with maximal inputs — the longest values the columns of storage/models.py or the input
  checks allow, and lists of many long items — and every constant is read; each result keeps
  within the limit of how it is used: a message 4096 characters, a caption 1024, a callback
  answer (alert or toast) 200.
- Every CallbackData class (found by walking the subclasses) packs with maximal field values
  (ids up to 2**63-1, the longest keys) into at most 64 bytes.
- Through the handlers, on SQLite and PostgreSQL (the mocked Bot API refuses what Telegram
  refuses, tests/mocked_bot.py): /pairs and /mentees with 61 pairs page; an item with 5
  comments of ~950 characters opens and pages back; a stranger's press gets an alert that fits;
  a roadmap with 25 unreadable schedules is imported with Russian warnings in one message.
"""

from __future__ import annotations

import ast
import inspect
import pkgutil
import re
import types
from datetime import UTC, date, datetime
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
from aiogram.filters.callback_data import CallbackData
from sqlalchemy import select

import bot.telegram  # noqa: F401  (its CallbackData classes)
import bot.texts as catalogue
import handlers.reports
import handlers.start  # noqa: F401
from bot.services.broadcast import BroadcastProgress, BroadcastResults
from storage.broadcast_models import Broadcast
from storage.db import Database
from storage.models import ItemComment, MentorAssignment, PlanItem, Role, User
from tests.conftest import OFFICER_TG
from tests.harness import FakeClock, Harness, alert_of, last_with_buttons, texts_of
from tests.mocked_bot import ALERT_LIMIT, CALLBACK_DATA_LIMIT, CAPTION_LIMIT, MESSAGE_LIMIT
from tests.test_handlers_mentoring import assign, register_as

ROOT = Path(__file__).resolve().parent.parent
MAX_ID = 2**63 - 1

# --- the catalogue ----------------------------------------------------------------------------
CHAPTERS = [catalogue] + [
    import_module(f"bot.texts.{m.name}") for m in pkgutil.iter_modules(catalogue.__path__)
]
# helpers of the catalogue that build no user-facing text of their own
HELPERS = {
    "esc",
    "fmt_date",
    "cut",
    "fits_first",
    "fit_first",
    "fits_last",
    "fit_last",
    "joined_size",
}


def long_text(length: int) -> str:
    """Cyrillic words (no HTML to escape: escaping is counted where it grows a text)."""
    word = "Щегловитова "
    return (word * (length // len(word) + 1))[:length].rstrip() or "Щ"


# the longest value of a parameter, by its name: the column (storage/models.py) or the check
# before it (bot/services/validation.py callers); anything unnamed here gets DEFAULT_LENGTH
LENGTHS = {
    "name": 300,  # a person (200) or a file name (roadmap_imports.source_name: 300)
    "full_name": 200,
    "who": 200,
    "author": 200,
    "mentor": 200,
    "reservist": 200,
    "other": 200,
    "current": 3000,  # an interview conclusion (year_report.clean_conclusion)
    "organisation": 300,
    "position": 200,
    "municipality": 200,
    "own": 200,
    "area": 200,
    "value": 300,
    "label": 320,
    "zone_label": 40,
    "timezone": 64,
    "query": 4000,  # /report's words are not checked: a list header shortens them
    "title": 500,  # an activity (roadmap_admin: 500); personal items 300
    "text": 1000,
    "comment": 1000,
    "note": 1000,
    "topic": 300,
    "reason": 500,
    "details": 900,  # order number 64 + post 200 + organisation 300 + reason 300
    "evidence": 256,
    "schedule": 500,
    "section": 1000,
    "message": 500,  # a reason from the catalogue with a value in it
    "problem": 300,
    "item": 500,
    "first": 100,
    "second": 100,
    "notice": 700,
    "link": 80,
}
DEFAULT_LENGTH = 40
# parameters that are keys of a table of the catalogue: every key is tried
KEYS: dict[str, list[Any]] = {
    "role": list(catalogue.ROLE_NAMES),
    "kind": list(catalogue.KIND_NAMES) + list(catalogue.AUDIENCE_NAMES),
    "status": list(catalogue.STATUS_NAME) + list(catalogue.STATUS_NAMES),
    "icon_status": list(catalogue.STATUS_ICON),
    "fmt": list(catalogue.FORMAT_NAMES),
    "answer": ["yes", "no"],
    "action": list(catalogue.HISTORY_ACTIONS.values()),
    "code": list(import_module("bot.texts.reports").INDICATOR_TITLES),
    "field": list(import_module("bot.texts.people").COLUMN_NAMES),
}
# where a function takes only some of those keys
FUNCTION_KEYS: dict[str, dict[str, list[Any]]] = {
    "item_card": {"status": list(catalogue.STATUS_NAME)},
    # the English warning of the roadmap importer quotes cells of any length
    "roadmap_warning": {"message": [long_text(20_000)]},
    # the names of the import's columns (a fixed set)
    "missing_columns": {"names": [list(import_module("bot.texts.people").COLUMN_NAMES.values())]},
}
INTS = {"year": 2026, "month": 12, "days": 7, "width": 10, "number": 10, "cohort": 2026}
BIG = 999_999_999


def _strings(name: str) -> str:
    return long_text(LENGTHS.get(name, DEFAULT_LENGTH))


def _value(name: str, annotation: Any) -> Any:
    text = str(annotation)
    if name in INTS:
        return INTS[name]
    if text.startswith("list[str]"):
        return [long_text(300) for _ in range(300)]
    if text.startswith(("Sequence[tuple[", "list[tuple[")):
        inner = text.split("tuple[", 1)[1].split("]", 1)[0].split(", ")
        row = tuple(_value("title" if t == "str" else name, t) for t in inner)
        return [row] * 300
    if text.startswith("dict[str, int]"):
        return dict.fromkeys(catalogue.ROLE_NAMES, BIG)
    if "date" in text and "datetime" not in text:
        return date(2026, 12, 31)
    if text.startswith("str"):
        return _strings(name)
    if text.startswith("bool"):
        return True
    if text.startswith("int"):
        return BIG
    if text.startswith("float"):
        return 0.999 if name == "fraction" else 999_999.9
    if text.startswith("Callable"):
        return catalogue.more_lines
    # the broadcast chapter reads the service's snapshots through protocols of its own
    if text in {"BroadcastProgress", "ProgressSnapshot"}:
        return BroadcastProgress(BIG, "running", BIG, BIG, BIG, BIG, BIG, 999.9, 999_999.0)
    if text in {"BroadcastResults", "ResultsSummary"}:
        cast = Broadcast(id=BIG, audience={"label": long_text(320)}, rsvp=True, status="done")
        return BroadcastResults(cast, BIG, BIG, BIG, BIG, BIG, BIG)
    if text == "object":
        return long_text(300)
    msg = f"no maximal value for {name}: {annotation}"
    raise AssertionError(msg)


def calls_of(function: types.FunctionType) -> list[dict[str, Any]]:
    """Keyword arguments for ``function``: maximal values, one call per key of each key-like
    parameter (and None for each optional one)."""
    parameters = inspect.signature(function).parameters
    keys = {**KEYS, **FUNCTION_KEYS.get(function.__name__, {})}
    base = {n: _value(n, p.annotation) for n, p in parameters.items() if n not in keys}
    calls = [dict(base)]
    for n in parameters:
        if n in keys:
            calls = [{**c, n: key} for c in calls for key in keys[n]]
    for n, p in parameters.items():
        if "None" in str(p.annotation):
            calls.append({**calls[0], n: None})
    return calls


def text_functions() -> list[tuple[str, types.FunctionType]]:
    found = []
    for module in CHAPTERS:
        for name, value in vars(module).items():
            public = not name.startswith("_") and name not in HELPERS
            if public and inspect.isfunction(value) and value.__module__ == module.__name__:
                found.append((f"{module.__name__}.{name}", value))
    return found


def constants() -> dict[str, str]:
    """Every string constant of the catalogue (and the strings inside its dicts and tuples)."""
    found: dict[str, str] = {}
    for module in CHAPTERS:
        for name, value in vars(module).items():
            if name.startswith("_") or not name.isupper():
                continue
            values = value.values() if isinstance(value, dict) else value
            if isinstance(value, str):
                found[f"{module.__name__}.{name}"] = value
            elif isinstance(value, dict | tuple):
                for i, item in enumerate(values):
                    if isinstance(item, str):
                        found[f"{module.__name__}.{name}[{i}]"] = item
    return found


# How each text is used, found in the code: the catalogue's names passed to
# ``query.answer(...)`` are alerts or toasts; those passed as ``caption=`` are captions.
SOURCES = [
    *sorted((ROOT / "handlers").rglob("*.py")),
    *sorted((ROOT / "bot" / "telegram").rglob("*.py")),
]
ALIASES = r"(?:texts|tb|tr|ts|tp|tf|t)"


def names_used_as(pattern: str) -> set[str]:
    used = set()
    for path in SOURCES:
        for call in re.finditer(pattern, path.read_text(encoding="utf-8"), re.S):
            used.update(re.findall(rf"\b{ALIASES}\.([A-Za-z_]\w*)", call.group(0)))
    return used


ALERTS = names_used_as(r"query\.answer\((?:[^()]|\([^()]*\))*\)")
CAPTIONS = names_used_as(r"caption=(?:[^(),]|\([^()]*\))*")


def limit_for(name: str) -> int:
    short = name.rsplit(".", 1)[-1].split("[", 1)[0]
    if short in ALERTS:
        return ALERT_LIMIT
    if short in CAPTIONS:
        return CAPTION_LIMIT
    return MESSAGE_LIMIT


def test_the_usage_scan_finds_alerts_and_captions() -> None:
    assert {"STALE_BUTTON", "NO_ACCESS_ALERT", "rsvp_saved", "ITEM_CONFIRMED_OK"} <= ALERTS
    assert {"export_caption", "report_caption"} <= CAPTIONS
    assert "NO_ACCESS" not in ALERTS  # the long refusal goes only into messages


# named by the function's name (its repr has its address, which differs between the workers of
# pytest-xdist, and they must collect the same test ids)
@pytest.mark.parametrize(
    ("name", "function"), [pytest.param(n, f, id=n[:60]) for n, f in text_functions()]
)
def test_every_text_function_keeps_within_its_limit(
    name: str, function: types.FunctionType
) -> None:
    limit = limit_for(name)
    for kwargs in calls_of(function):
        result = function(**kwargs)
        assert isinstance(result, str), name
        assert 0 < len(result) <= limit, (name, len(result), limit, list(kwargs))


def test_every_constant_keeps_within_its_limit() -> None:
    found = constants()
    assert len(found) > 150
    for name, value in found.items():
        assert len(value) <= limit_for(name), (name, len(value))
    # a command's description in the menu: 3-256 characters (setMyCommands)
    for name in ("COMMANDS_GUEST", "COMMANDS_RESERVIST", "COMMANDS_MENTOR", "COMMANDS_OFFICER"):
        for text in getattr(catalogue, name).values():
            assert 3 <= len(text) <= 256


def test_input_errors_fit_an_alert() -> None:
    """A service's InputError can be answered as an alert (``query.answer(exc.message)``): the
    catalogue's texts raised as InputError fit 200 characters with maximal values."""
    raised: set[str] = set()
    for path in (ROOT / "bot" / "services").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "InputError":
                for inner in ast.walk(node):
                    if (
                        isinstance(inner, ast.Attribute)
                        and isinstance(inner.value, ast.Name)
                        and re.fullmatch(ALIASES, inner.value.id)
                    ):
                        raised.add(inner.attr)
    assert {"BAD_MINUTES", "BAD_STATUS_MOVE"} <= raised
    by_name = {n.rsplit(".", 1)[-1]: f for n, f in text_functions()}
    values = {n.rsplit(".", 1)[-1]: v for n, v in constants().items()}
    alerted_by_handlers = {"ITEM_NOT_CONFIRMABLE", "ITEM_ALREADY_CONFIRMED", "BAD_STATUS_MOVE"}
    for name in raised & (alerted_by_handlers | ALERTS):
        texts = (
            [values[name]]
            if name in values
            else [by_name[name](**c) for c in calls_of(by_name[name])]
        )
        assert all(len(t) <= ALERT_LIMIT for t in texts), name


# --- callback data ------------------------------------------------------------------------------
def all_callback_data() -> list[type[CallbackData]]:
    found: list[type[CallbackData]] = []
    pending = list(CallbackData.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return [c for c in found if c.__module__.startswith(("handlers", "bot"))]


# the longest value a str field takes, by field name (from the code that builds the buttons)
KEY_VALUES = {
    "answer": "yes",
    "action": "evidence",  # the longest action of MenteeCb / ActivityCb (flag_conf: 9)
    "step": "today",
    "kind": "mentees",
    "purpose": "ar",
    "status": "appointed",
    # an item id as text (ConsultPickCb: 19 digits at most), a draft key (BroadcastStepCb
    # «Отправить»: 16 characters), a format or an index
    "value": str(MAX_ID),
}


def test_every_callback_data_class_fits_64_bytes() -> None:
    classes = all_callback_data()
    names = {c.__name__ for c in classes}
    assert {"ItemCb", "MenteeCb", "ListPageCb", "CommentsCb", "ReportCb", "ProfileCb"} <= names
    assert {"BroadcastAnswerCb", "BroadcastControlCb"} <= names
    for cls in classes:
        values: dict[str, Any] = {}
        for name, info in cls.model_fields.items():
            if info.annotation is int:
                # the bound of the field's range that packs longest (-2**31 for a Number)
                bounds = [
                    b
                    for m in info.metadata
                    for b in (getattr(m, "ge", None), getattr(m, "le", None))
                    if b is not None
                ]
                values[name] = max(bounds, key=lambda b: len(str(b))) if bounds else -(2**63)
            else:
                values[name] = KEY_VALUES.get(name, "flag_conf")
        for action in ("flag_conf", "reschedule", "evidence"):
            if "action" in values:
                values["action"] = action
            packed = cls(**values).pack()
            assert len(packed.encode()) <= CALLBACK_DATA_LIMIT, (cls.__name__, packed)


def test_buttons_built_in_the_code_use_no_longer_keys() -> None:
    """The str fields' values the code passes are no longer than those packed above."""
    longest = max(len(v) for v in KEY_VALUES.values())
    for path in SOURCES:
        for found in re.finditer(
            r'(?:action|step|kind|purpose|status|answer)="(\w+)"', path.read_text()
        ):
            assert len(found.group(1)) <= longest, (path.name, found.group(0))


# --- through the handlers ---------------------------------------------------------------------
RES, MENTOR, STRANGER = 2001, 3001, 9999


@pytest.fixture
async def world(harness: Harness, clock: FakeClock) -> Harness:
    clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    await register_as(harness, RES, "reservist", "Иванова Мария Петровна")
    await register_as(harness, MENTOR, "mentor", "Кузнецова Анна Сергеевна")
    return harness


async def add_pairs(db: Database, count: int) -> None:
    """``count`` more reservists with the longest names, each with the mentor MENTOR."""
    async with db.session() as repo:
        mentor = await repo.session.scalar(select(User).where(User.telegram_id == MENTOR))
        assert mentor is not None
        now = datetime(2026, 3, 1, tzinfo=UTC)
        for n in range(count):
            person = User(
                role=Role.RESERVIST,
                full_name=f"{n:03} " + long_text(196),
                organisation=long_text(300),
                municipality="Петровский район",
                registered_at=now,
                reserve_status="included",
            )
            repo.session.add(person)
            await repo.session.flush()
            repo.session.add(
                MentorAssignment(reservist_id=person.id, mentor_id=mentor.id, started_at=now)
            )


def _assert_fits(calls: list[Any]) -> None:
    for call in calls:
        assert len(call.params.get("text") or "") <= MESSAGE_LIMIT
        assert "Что-то пошло не так" not in call.text


async def test_pairs_and_mentees_page(world: Harness, db: Database) -> None:
    await add_pairs(db, 61)
    calls = await world.send(OFFICER_TG, "/pairs")
    _assert_fits(calls)
    first = last_with_buttons(calls)
    assert "Пары «резервист – наставник»: 61" in first.text and "Страница 1 из 7" in first.text
    seen = set(re.findall(r"^(\d{3}) ", first.text, re.M))
    page = first
    for _ in range(6):
        calls = await world.press(OFFICER_TG, page.button("Далее"))
        _assert_fits(calls)
        page = next(c for c in calls if c.method == "editMessageText")
        seen |= set(re.findall(r"^(\d{3}) ", page.text, re.M))
    assert len(seen) == 61 and "Страница 7 из 7" in page.text

    calls = await world.send(MENTOR, "/mentees")
    _assert_fits(calls)
    listing = last_with_buttons(calls)
    assert "Ваши подопечные: 61" in listing.text and "Страница 1 из 7" in listing.text
    assert len(listing.buttons()) == 11  # ten mentees and «Далее»
    calls = await world.press(MENTOR, listing.button("Далее"))
    _assert_fits(calls)
    second = next(c for c in calls if c.method == "editMessageText")
    assert "Страница 2 из 7" in second.text
    calls = await world.press(MENTOR, second.buttons()[0][1])  # a mentee's plan opens
    _assert_fits(calls)
    assert "План резервиста" in texts_of(calls)


async def test_item_with_long_comments_opens_and_pages_back(world: Harness, db: Database) -> None:
    await assign(world, "Иванова", "Кузнецова")
    async with db.session() as repo:
        reservist = await repo.session.scalar(select(User).where(User.telegram_id == RES))
        mentor = await repo.session.scalar(select(User).where(User.telegram_id == MENTOR))
        assert reservist is not None and mentor is not None
        item = (await repo.session.scalars(select(PlanItem).order_by(PlanItem.id))).first()
        assert item is not None
        for n in range(5):
            text = f"Комментарий {n + 1}. " + long_text(930)
            created = datetime(2026, 3, 1, 10, n, tzinfo=UTC)
            repo.session.add(
                ItemComment(item_id=item.id, author_id=mentor.id, text=text, created_at=created)
            )
        item_id = item.id

    calls = await world.press(RES, f"item:open:{item_id}:1")
    _assert_fits(calls)
    card = last_with_buttons(calls)
    assert "Комментарий 5." in card.text and "Комментарий 1." not in card.text
    assert "Более ранних комментариев" in card.text
    shown = set(re.findall(r"Комментарий (\d)\.", card.text))
    page = card
    while any("Более ранние" in t for t, _ in page.buttons()):
        calls = await world.press(RES, page.button("Более ранние"))
        _assert_fits(calls)
        page = calls[-1]
        shown |= set(re.findall(r"Комментарий (\d)\.", page.text))
    assert shown == {"1", "2", "3", "4", "5"}

    # the mentor's card pages back the same way; a stranger's item is not theirs
    calls = await world.press(MENTOR, f"mnt:item:{item_id}")
    _assert_fits(calls)
    assert "Более ранних комментариев" in last_with_buttons(calls).text
    calls = await world.press(MENTOR, last_with_buttons(calls).button("Более ранние"))
    _assert_fits(calls)
    assert "Комментарии" in calls[-1].text
    calls = await world.press(OFFICER_TG, f"cmt:{item_id}:3")
    assert "Кнопка устарела" in alert_of(calls)


async def test_a_strangers_press_gets_an_alert_that_fits(world: Harness) -> None:
    for data in ("item:open:1:1", "mnt:open:1", "bctl:stop:1", "anything", "log:today"):
        calls = await world.press(STRANGER, data)
        alert = alert_of(calls)
        assert alert and len(alert) <= ALERT_LIMIT and "ссылке-приглашению" in alert


ROADMAP_HEAD = "№\tМероприятия\tСроки\tОтветственные\n"


async def test_roadmap_with_25_unreadable_schedules(world: Harness) -> None:
    rows = [
        f"{n}\tМероприятие номер {n} для резерва управленческих кадров {long_text(150)}\t"
        f"когда-нибудь потом {long_text(300)}\tОтдел образования"
        for n in range(1, 26)
    ]
    data = (ROADMAP_HEAD + "\n".join(rows) + "\n").encode()
    calls = await world.send_document(OFFICER_TG, "карта.txt", data)
    _assert_fits(calls)
    text = texts_of(calls)
    assert "Дорожная карта загружена" in text, text[:500]
    assert "Предупреждения" in text and "не удалось прочитать сроки" in text
    assert "unreadable" not in text and "treated" not in text
    assert re.search(r"…и ещё \d+", text)


def test_roadmap_warnings_are_russian() -> None:
    cases = {
        "cells without a title were joined to the row at line 7": "присоединены к строке 7",
        "row has 7 cells but the table has 5 columns; the extra cells were added to the last "
        "column": "в строке 7 ячеек, а в таблице 5 столбцов",
        "row 12 has no activity title; skipped": "№12 нет названия",
        "row has no activity title; skipped": "нет названия",
        "empty schedule for 'Тренинг'; treated as on demand": "не указаны сроки мероприятия",
        "unreadable schedule 'потом' for 'Тренинг'; treated as on demand": "сроки «потом»",
        "something new": "прочитана не полностью",
    }
    for english, russian in cases.items():
        assert russian in catalogue.roadmap_warning(3, english), english
