"""Officers' broadcasts: /broadcast composes (any text, photo or document, one or several),
picks the audience within the officer's scope, optionally adds «Буду» / «Не смогу», shows a
preview and the recipient count, and on confirmation starts the durable broadcast with one
progress message edited in place («Остановить» / «Продолжить»). /broadcasts shows the reports
with the answers and «Отправить повторно» for broadcasts with failed recipients. Recipients
press the RSVP buttons here too.

«Отправить» acts once per draft: /broadcast generates the draft's idempotency key, which travels
in the button's callback data and is stored in the broadcast's unique ``draft_key``; a second
press (a double tap, after a restart, in another process, after the dialogue state is gone)
finds the key taken and answers «Рассылка уже запущена» without creating anything.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from contextvars import Context
from datetime import date
from functools import partial

import structlog
from aiogram import Bot, F, Router
from aiogram.filters import Command
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts
from bot.services.audience import NEEDS_VALUE, Audience, AudienceKind, choices, recipients
from bot.services.broadcast import (
    BroadcastService,
    ContentPart,
    DuplicateDraftError,
    validate_parts,
)
from bot.services.errors import NotFoundError
from bot.services.scope import broadcast_in_scope
from bot.services.validation import ascii_number
from bot.telegram import (
    BroadcastAnswerCb,
    BroadcastControlCb,
    ProgressMessage,
    progress_editor,
    resend_keyboard,
    short,
)
from bot.texts import broadcast as tb
from bot.texts import scope as ts
from handlers.callbacks import BroadcastStepCb
from handlers.common import Target, asking_again, callback_target
from handlers.fallback import KNOWN_COMMANDS
from handlers.filters import REGISTERED, HasRole
from handlers.states import BroadcastFlow
from storage.broadcast_models import Broadcast
from storage.models import Role, User
from storage.repo import Repo

log = structlog.get_logger(__name__)
OFFICER = HasRole(Role.OFFICER)
MAX_VALUES = 40
#: Bytes of randomness in a draft's idempotency key: 16 URL-safe characters in the «Отправить»
#: button's callback data (``bst:send:<key>``, 25 bytes of the Bot API's 64).
DRAFT_KEY_BYTES = 12

# Runs started from this process; kept so that tasks are not garbage-collected mid-run.
RUNNING: set[asyncio.Task[object]] = set()
REPORTS_SHOWN = 5  # /broadcasts shows the newest five the officer may see
REPORTS_SCANNED = 200  # ... among the newest 200 of everyone's


def setup() -> Router:
    """The officers' router of this module: they compose and control broadcasts (the audience
    answers through :func:`setup_answers`'s router)."""
    router = Router(name="broadcast")
    router.message.filter(OFFICER)
    router.callback_query.filter(OFFICER)
    router.message.register(start, Command("broadcast"))
    router.message.register(show_reports, Command("broadcasts"))
    router.callback_query.register(cancel, BroadcastStepCb.filter(F.step == "cancel"))
    router.callback_query.register(
        content_done, BroadcastFlow.compose, BroadcastStepCb.filter(F.step == "done")
    )
    # a known command typed while composing acts as that command (the draft is kept), it does
    # not join the broadcast
    router.message.register(
        add_part, BroadcastFlow.compose, ~Command(*KNOWN_COMMANDS, ignore_case=True)
    )
    router.callback_query.register(
        audience_kind, BroadcastFlow.audience, BroadcastStepCb.filter(F.step == "kind")
    )
    router.callback_query.register(
        audience_value, BroadcastFlow.value, BroadcastStepCb.filter(F.step == "pick")
    )
    router.callback_query.register(
        rsvp_choice, BroadcastFlow.rsvp, BroadcastStepCb.filter(F.step == "rsvp")
    )
    # no state filter: a second press must be answered after the first cleared the state
    router.callback_query.register(send, BroadcastStepCb.filter(F.step == "send"))
    router.callback_query.register(control, BroadcastControlCb.filter())
    return router


def setup_answers() -> Router:
    """The router of the audience's answers («Буду» / «Не смогу»): anyone registered."""
    router = Router(name="broadcast_answers")
    router.callback_query.register(rsvp_answer, BroadcastAnswerCb.filter(), REGISTERED)
    return router


def _buttons(*rows: tuple[str, BroadcastStepCb]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for text, data in rows:
        kb.button(text=text, callback_data=data)
    kb.adjust(1)
    return kb.as_markup()


def _compose_keyboard() -> InlineKeyboardMarkup:
    return _buttons(
        (texts.BTN_BROADCAST_DONE, BroadcastStepCb(step="done")),
        (texts.BTN_BROADCAST_CANCEL, BroadcastStepCb(step="cancel")),
    )


async def start(message: Message, state: FSMContext) -> None:
    """/broadcast: collect the content; the draft gets its idempotency key."""
    await state.clear()
    await state.set_state(BroadcastFlow.compose)
    await state.update_data(parts=[], draft_key=secrets.token_urlsafe(DRAFT_KEY_BYTES))
    await message.answer(texts.BROADCAST_COMPOSE, reply_markup=_compose_keyboard())


def _part_of(message: Message) -> ContentPart | None:
    if message.photo:
        caption = message.html_text if message.caption else None
        return ContentPart.photo(message.photo[-1].file_id, caption)
    if message.document:
        caption = message.html_text if message.caption else None
        return ContentPart.document(message.document.file_id, caption)
    if message.text:
        return ContentPart.of_text(message.html_text)
    return None


async def add_part(message: Message, state: FSMContext) -> None:
    """A message of the content: text with its formatting, a photo or a document."""
    part = _part_of(message)
    if part is None:
        await message.answer(texts.BROADCAST_UNSUPPORTED, reply_markup=_compose_keyboard())
        return
    data = await state.get_data()
    parts = [*data.get("parts", []), part.to_json()]
    with asking_again(reply_markup=_compose_keyboard()):
        validate_parts([ContentPart.from_json(p) for p in parts])
    await state.update_data(parts=parts)
    await message.answer(texts.broadcast_added(len(parts)), reply_markup=_compose_keyboard())


async def content_done(query: CallbackQuery, state: FSMContext) -> None:
    """«Готово»: choose the audience."""
    target = callback_target(query)
    data = await state.get_data()
    if not data.get("parts"):
        await query.answer(texts.BROADCAST_NOTHING_YET, show_alert=True)
        return
    await query.answer()
    await state.set_state(BroadcastFlow.audience)
    rows = [
        (label, BroadcastStepCb(step="kind", value=kind))
        for kind, label in texts.AUDIENCE_NAMES.items()
    ]
    await target.answer(texts.BROADCAST_PICK_AUDIENCE, reply_markup=_buttons(*rows))


async def audience_kind(
    query: CallbackQuery, callback_data: BroadcastStepCb, state: FSMContext, repo: Repo, user: User
) -> None:
    """An audience kind; municipality / organisation / cohort ask for the value."""
    target = callback_target(query)
    try:
        kind = AudienceKind(callback_data.value)
    except ValueError:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    await state.update_data(kind=kind.value, value=None)
    if kind not in NEEDS_VALUE:
        await _ask_rsvp(target, state)
        return
    values = list(await choices(repo, user, kind))[:MAX_VALUES]
    if not values:
        await target.answer(texts.BROADCAST_NO_VALUES)
        return
    await state.update_data(values=values)
    await state.set_state(BroadcastFlow.value)
    rows = [(short(v), BroadcastStepCb(step="pick", value=str(i))) for i, v in enumerate(values)]
    await target.answer(texts.BROADCAST_PICK_VALUE, reply_markup=_buttons(*rows))


async def audience_value(
    query: CallbackQuery, callback_data: BroadcastStepCb, state: FSMContext
) -> None:
    """The municipality, organisation or cohort year."""
    target = callback_target(query)
    data = await state.get_data()
    values = data.get("values") or []
    found = ascii_number(callback_data.value)
    index = -1 if found is None else found
    if not 0 <= index < len(values):
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    await query.answer()
    await state.update_data(value=values[index])
    await _ask_rsvp(target, state)


async def _ask_rsvp(target: Target, state: FSMContext) -> None:
    await state.set_state(BroadcastFlow.rsvp)
    await target.answer(
        texts.BROADCAST_ASK_RSVP,
        reply_markup=_buttons(
            (texts.BTN_RSVP_YES, BroadcastStepCb(step="rsvp", value="yes")),
            (texts.BTN_RSVP_NO, BroadcastStepCb(step="rsvp", value="no")),
        ),
    )


async def rsvp_choice(
    query: CallbackQuery,
    callback_data: BroadcastStepCb,
    state: FSMContext,
    repo: Repo,
    user: User,
    broadcasts: BroadcastService,
    today: date,
) -> None:
    """RSVP or not: show the preview and the recipient count."""
    target = callback_target(query)
    await query.answer()
    rsvp = callback_data.value == "yes"
    data = await state.get_data()
    audience = Audience(AudienceKind(data["kind"]), data.get("value"))
    people = await recipients(repo, user, audience, today)
    await state.update_data(rsvp=rsvp, user_ids=[p.id for p in people])
    if user.telegram_id is None:
        return
    if not people:
        await state.set_state(BroadcastFlow.audience)
        await target.answer(texts.BROADCAST_EMPTY_AUDIENCE)
        return
    await state.set_state(BroadcastFlow.confirm)
    await target.answer(texts.BROADCAST_PREVIEW)
    parts = [ContentPart.from_json(p) for p in data["parts"]]
    await broadcasts.transport.send_content(user.telegram_id, parts, rsvp=None)
    label = texts.audience_label(audience.kind, audience.value)
    await target.answer(
        texts.broadcast_summary(label, len(people), len(parts), rsvp),
        reply_markup=_buttons(
            (texts.BTN_BROADCAST_SEND, BroadcastStepCb(step="send", value=data["draft_key"])),
            (texts.BTN_BROADCAST_CANCEL, BroadcastStepCb(step="cancel")),
        ),
    )


def _start_run(
    broadcasts: BroadcastService, bot: Bot, broadcast_id: int, chat_id: int, message_id: int
) -> None:
    # a fresh context: the run outlives this update and must not join its transaction
    task: asyncio.Task[object] = asyncio.create_task(
        broadcasts.run(broadcast_id, on_progress=ProgressMessage(bot, chat_id, message_id)),
        name=f"broadcast-{broadcast_id}",
        context=Context(),
    )
    RUNNING.add(task)
    task.add_done_callback(RUNNING.discard)


def _resend_run(broadcasts: BroadcastService, bot: Bot, broadcast_id: int) -> None:
    # the run edits the broadcast's own progress message, as a resumed one does
    async def go() -> object:
        fresh = await broadcasts.results(broadcast_id)
        return await broadcasts.run(
            broadcast_id, on_progress=progress_editor(bot, fresh.broadcast)
        )

    task: asyncio.Task[object] = asyncio.create_task(
        go(), name=f"broadcast-{broadcast_id}-resend", context=Context()
    )
    RUNNING.add(task)
    task.add_done_callback(RUNNING.discard)


async def send(
    query: CallbackQuery,
    callback_data: BroadcastStepCb,
    state: FSMContext,
    repo: Repo,
    user: User,
    bot: Bot,
    broadcasts: BroadcastService,
    after_commit: list[Callable[[], object]],
) -> None:
    """«Отправить»: store the broadcast with its recipients under the draft's key, already
    ``running``; sending starts once that is committed. A press whose key is taken answers
    «Рассылка уже запущена»; one with no draft of that key in the dialogue state is a stale
    button."""
    key = callback_data.value
    if key and await broadcasts.by_draft_key(key) is not None:
        await query.answer(tb.ALREADY_STARTED)
        return
    data = await state.get_data()
    if not key or await state.get_state() != BroadcastFlow.confirm or data.get("draft_key") != key:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    target = callback_target(query)
    audience = Audience(AudienceKind(data["kind"]), data.get("value"))
    parts = [ContentPart.from_json(p) for p in data["parts"]]
    try:
        broadcast = await broadcasts.create(
            created_by=user.id,
            parts=parts,
            user_ids=data["user_ids"],
            audience={
                **audience.to_json(),
                "label": texts.audience_label(audience.kind, audience.value),
                # whose broadcast it is: the composing officer's municipality (None: regional)
                "scope": user.municipality or None,
            },
            rsvp=bool(data.get("rsvp")),
            draft_key=key,
        )
    except DuplicateDraftError:  # another press stored it first (another process)
        await query.answer(tb.ALREADY_STARTED)
        return
    await state.clear()
    await repo.audit.record(
        user.id,
        "broadcast",
        f"broadcast:{broadcast.id}",
        {"audience": audience.to_json(), "recipients": broadcast.total, "parts": len(parts)},
    )
    # running before anyone is told: should the process die after «Рассылка запускается»,
    # the broadcast is resumed at the next start instead of waiting as a draft forever
    await broadcasts.launch(broadcast.id)
    await query.answer()
    progress = await target.answer(texts.BROADCAST_STARTING)
    await broadcasts.set_progress_message(broadcast.id, progress.chat.id, progress.message_id)
    after_commit.append(
        partial(_start_run, broadcasts, bot, broadcast.id, progress.chat.id, progress.message_id)
    )


async def cancel(query: CallbackQuery, state: FSMContext) -> None:
    """«Отмена» at any step: nothing is stored or sent."""
    target = callback_target(query)
    await state.clear()
    await query.answer()
    await target.answer(texts.BROADCAST_CANCELLED)


async def control(
    query: CallbackQuery,
    callback_data: BroadcastControlCb,
    repo: Repo,
    user: User,
    bot: Bot,
    broadcasts: BroadcastService,
    after_commit: list[Callable[[], object]],
) -> None:
    """«Остановить» / «Продолжить» under a progress message, «Отправить повторно» under
    /broadcasts."""
    broadcast = await repo.broadcasts.get(callback_data.broadcast_id)
    if broadcast is None:
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    if not await _visible(repo, user, broadcast):
        await query.answer(ts.broadcast_other_area(user.municipality or ""), show_alert=True)
        return
    if callback_data.action == "resend":
        count = await broadcasts.resend_failed(broadcast.id)
        if not count:
            await query.answer(tb.RESEND_NOTHING)
            return
        await repo.audit.record(
            user.id, "broadcast.resend", f"broadcast:{broadcast.id}", {"recipients": count}
        )
        await query.answer(tb.resend_queued(count))
        after_commit.append(partial(_resend_run, broadcasts, bot, broadcast.id))
        return
    if callback_data.action == "stop":
        stopped = await broadcasts.stop(broadcast.id)
        await query.answer(tb.STOPPING if stopped else tb.NOT_RUNNING)
        if stopped:
            await repo.audit.record(user.id, "broadcast.stop", f"broadcast:{broadcast.id}", {})
        return
    if callback_data.action != "resume":
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    target = callback_target(query)
    if not await broadcasts.launch(broadcast.id):
        await query.answer(tb.NOT_RUNNING, show_alert=True)
        return
    await query.answer()
    await repo.audit.record(user.id, "broadcast.resume", f"broadcast:{broadcast.id}", {})
    after_commit.append(
        partial(_start_run, broadcasts, bot, broadcast.id, target.chat.id, target.message_id)
    )


async def rsvp_answer(
    query: CallbackQuery,
    callback_data: BroadcastAnswerCb,
    user: User,
    broadcasts: BroadcastService,
) -> None:
    """A recipient's «Буду» / «Не смогу» (answering again replaces the answer)."""
    if callback_data.answer not in ("yes", "no"):
        await query.answer(texts.STALE_BUTTON, show_alert=True)
        return
    try:
        await broadcasts.answer(callback_data.broadcast_id, user.id, callback_data.answer)
    except NotFoundError:
        await query.answer(tb.RSVP_GONE, show_alert=True)
        return
    await query.answer(tb.rsvp_saved(callback_data.answer))


async def _visible(repo: Repo, officer: User, broadcast: Broadcast) -> bool:
    """Whether ``officer`` may see and control ``broadcast`` (a municipal officer: only
    broadcasts to their municipality)."""
    creator = await repo.users.get(broadcast.created_by) if broadcast.created_by else None
    return broadcast_in_scope(officer, broadcast.audience, creator)


async def show_reports(
    message: Message, repo: Repo, user: User, broadcasts: BroadcastService
) -> None:
    """/broadcasts: the latest broadcasts (of the officer's municipality, for a municipal
    officer) with their outcomes and answers."""
    newest = await repo.broadcasts.recent(limit=REPORTS_SCANNED)
    recent = [b for b in newest if await _visible(repo, user, b)][:REPORTS_SHOWN]
    if not recent:
        await message.answer(texts.BROADCASTS_EMPTY)
        return
    results = [await broadcasts.results(b.id) for b in recent]
    resendable = [r.broadcast.id for r in results if r.failed and r.status in ("done", "running")]
    await message.answer(
        "\n\n".join(tb.report(r) for r in results), reply_markup=resend_keyboard(resendable)
    )
