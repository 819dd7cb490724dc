"""Every user-facing string of broadcasts (рассылки), in Russian: composing one (/broadcast:
content, audience, preview), the RSVP buttons, the officer's progress message and final report,
and the content checks. A chapter of :mod:`bot.texts`.

The progress and report texts read a broadcast's numbers through the small protocols below
(:class:`ProgressSnapshot`, :class:`ResultsSummary`), which the service's dataclasses satisfy
structurally: the texts import nothing from the services.

Messages are sent with HTML parse mode; values are escaped with :func:`bot.texts.common.esc`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol

from bot.texts.common import esc


# --- what the progress and report texts read -------------------------------------------------
class DeliveryCounts(Protocol):
    """A broadcast's status and its recipients by outcome, as the progress and the report
    count them."""

    @property
    def status(self) -> str: ...
    @property
    def total(self) -> int: ...
    @property
    def sent(self) -> int: ...
    @property
    def blocked(self) -> int: ...
    @property
    def failed(self) -> int: ...
    @property
    def pending(self) -> int: ...


class ProgressSnapshot(DeliveryCounts, Protocol):
    """A broadcast's progress as :func:`progress` and :func:`progress_final` read it
    (:class:`bot.services.broadcast.BroadcastProgress` is one)."""

    @property
    def broadcast_id(self) -> int: ...
    @property
    def rate(self) -> float: ...
    @property
    def eta_seconds(self) -> float | None: ...
    @property
    def fraction(self) -> float: ...


class BroadcastRecord(Protocol):
    """The stored broadcast as :func:`report` reads it (the ORM row ``Broadcast`` is one): its
    number, its audience (with the ``label`` in words) and whether it asks for RSVP."""

    @property
    def id(self) -> int: ...
    @property
    def audience(self) -> Mapping[str, object]: ...
    @property
    def rsvp(self) -> bool: ...


class ResultsSummary(DeliveryCounts, Protocol):
    """A broadcast's results as :func:`report` reads them
    (:class:`bot.services.broadcast.BroadcastResults` is one)."""

    @property
    def broadcast(self) -> BroadcastRecord: ...
    @property
    def yes(self) -> int: ...
    @property
    def no(self) -> int: ...


# --- composing (/broadcast): content, audience, RSVP buttons, preview ----------------------------
BROADCAST_COMPOSE = (
    "Пришлите сообщение для рассылки: текст (с форматированием), фото или документ — "
    "одно или несколько. Когда всё готово, нажмите «Готово»."
)
BTN_BROADCAST_DONE = "Готово"
BTN_BROADCAST_CANCEL = "Отмена"
BROADCAST_NOTHING_YET = "Сначала пришлите хотя бы одно сообщение."
BROADCAST_UNSUPPORTED = "В рассылку можно добавить текст, фото или документ."
BROADCAST_PICK_AUDIENCE = "Кому отправить?"
AUDIENCE_NAMES = {
    "all": "Всем",
    "reservists": "Резервистам",
    "mentors": "Наставникам",
    "municipality": "Муниципалитету…",
    "organisation": "Организации…",
    "cohort": "Году включения…",
    "overdue": "Резервистам с просрочками",
}
BROADCAST_PICK_VALUE = "Выберите:"
BROADCAST_NO_VALUES = "Выбрать не из чего: в вашей зоне нет таких людей."
BROADCAST_ASK_RSVP = (
    "Добавить кнопки «Буду» / «Не смогу»? Ответы вы увидите в отчёте (/broadcasts)."
)
BTN_RSVP_YES = "С кнопками «Буду / Не смогу»"
BTN_RSVP_NO = "Без кнопок"
BROADCAST_PREVIEW = "Так увидят рассылку получатели:"
BTN_BROADCAST_SEND = "Отправить"
BROADCAST_EMPTY_AUDIENCE = "Получателей нет: выберите другую аудиторию или /cancel."
BROADCAST_STARTING = "📣 Рассылка начинается…"
BROADCAST_CANCELLED = "Рассылка отменена, ничего не отправлено."
BROADCASTS_EMPTY = "Рассылок пока не было. Новая — /broadcast."


def broadcast_added(count: int) -> str:
    """A part was added to the broadcast being composed."""
    return f"Добавлено сообщений: {count}. Пришлите ещё или нажмите «Готово»."


def broadcast_summary(label: str, recipients: int, parts: int, rsvp: bool) -> str:
    """The confirmation question before sending."""
    buttons = "с кнопками «Буду / Не смогу»" if rsvp else "без кнопок"
    return (
        f"<b>Рассылка</b>: {parts} сообщ., {buttons}\nКому: {esc(label)}\n"
        f"Получателей: <b>{recipients}</b>\n\nОтправить?"
    )


def audience_label(kind: str, value: str | None) -> str:
    """An audience in words."""
    base = AUDIENCE_NAMES.get(kind, kind).rstrip("…")
    return f"{base} «{value}»" if value else base


# --- buttons -----------------------------------------------------------------------------------
RSVP_YES = "Буду"
RSVP_NO = "Не смогу"
RSVP_WORDS = {"yes": RSVP_YES, "no": RSVP_NO}
BTN_STOP = "Остановить"
BTN_RESUME = "Продолжить"


def btn_resend(broadcast_id: int) -> str:
    """The /broadcasts button that queues a broadcast's failed recipients again."""
    return f"Отправить повторно №{broadcast_id}"


# --- the officer's presses (callback answers) -------------------------------------------------
ALREADY_STARTED = "Рассылка уже запущена."
RESEND_NOTHING = "Повторно отправлять некому: ошибок доставки нет."


def resend_queued(count: int) -> str:
    """«Отправить повторно» accepted: how many recipients are queued again."""
    return f"Отправляю повторно: получателей — {count}."


# --- RSVP answers (callback answers, shown as a toast) ----------------------------------------
RSVP_GONE = "Эта рассылка больше не принимает ответы."


def rsvp_saved(answer: str) -> str:
    """Confirmation of a recipient's answer («Буду» / «Не смогу»)."""
    return f"Ответ записан: «{RSVP_WORDS.get(answer, answer)}»"


# --- content checks ----------------------------------------------------------------------------
BAD_EMPTY = "Рассылка пуста: добавьте текст, фото или документ."
BAD_NO_FILE = "У фото или документа нет файла: пришлите его ещё раз."


def bad_too_many_parts(limit: int) -> str:
    """Too many messages in one broadcast."""
    return f"В одной рассылке может быть не больше {limit} сообщений."


def bad_too_long(limit: int) -> str:
    """A text or caption over Telegram's limit."""
    return f"Текст слишком длинный: Telegram принимает не больше {limit} символов."


# --- progress and report -----------------------------------------------------------------------
STOPPING = "Останавливаю рассылку…"
NOT_RUNNING = "Рассылка уже не идёт."
BAR_FULL = "▓"
BAR_EMPTY = "░"


def progress_bar(fraction: float, width: int = 10) -> str:
    """A text bar with the percentage, e.g. «▓▓▓▓▓░░░░░ 52%» (rounded down: 100% means all)."""
    fraction = min(1.0, max(0.0, fraction))
    percent = math.floor(fraction * 100 + 1e-9)
    filled = math.floor(fraction * width + 1e-9)
    return f"{BAR_FULL * filled}{BAR_EMPTY * (width - filled)} {percent}%"


def fmt_duration(seconds: float) -> str:
    """A duration for people: «45 с», «3 мин 20 с», «1 ч 05 мин»."""
    total = max(0, math.ceil(seconds))
    if total < 60:
        return f"{total} с"
    minutes, secs = divmod(total, 60)
    if minutes < 60:
        return f"{minutes} мин {secs:02d} с" if secs else f"{minutes} мин"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} ч {minutes:02d} мин"


def _outcome_lines(sent: int, total: int, blocked: int, failed: int) -> list[str]:
    lines = [f"Доставлено: {sent} из {total}"]
    if blocked:
        lines.append(f"Заблокировали бота: {blocked}")
    if failed:
        lines.append(f"Не доставлено из-за ошибок: {failed}")
    return lines


def progress(p: ProgressSnapshot) -> str:
    """The officer's progress message while a broadcast is being sent (edited in place)."""
    lines = [
        f"📣 <b>Рассылка №{p.broadcast_id}</b>: идёт отправка",
        progress_bar(p.fraction),
        *_outcome_lines(p.sent, p.total, p.blocked, p.failed),
        f"Осталось отправить: {p.pending}",
    ]
    if p.rate > 0:
        speed = f"Скорость: {p.rate:.0f} в секунду"
        if p.eta_seconds is not None and p.pending:
            speed += f", осталось ≈ {fmt_duration(p.eta_seconds)}"
        lines.append(speed)
    return "\n".join(lines)


def progress_final(p: ProgressSnapshot) -> str:
    """The progress message once a run ended: done, stopped, or interrupted."""
    if p.status == "done":
        head = f"✅ <b>Рассылка №{p.broadcast_id}</b> завершена"
    elif p.status == "stopped":
        head = f"⏹ <b>Рассылка №{p.broadcast_id}</b> остановлена"
    else:
        head = f"⏸ <b>Рассылка №{p.broadcast_id}</b> прервана, продолжится после перезапуска бота"
    lines = [head, progress_bar(p.fraction), *_outcome_lines(p.sent, p.total, p.blocked, p.failed)]
    if p.pending:
        lines.append(f"Не отправлено: {p.pending}")
    return "\n".join(lines)


def report(r: ResultsSummary) -> str:
    """A broadcast's report for the officer: outcomes and, for RSVP broadcasts, the answers."""
    label = r.broadcast.audience.get("label")
    status = {
        "draft": "черновик",
        "running": "идёт отправка",
        "stopped": "остановлена",
        "done": "завершена",
    }.get(r.status, r.status)
    lines = [f"📣 <b>Рассылка №{r.broadcast.id}</b>: {status}"]
    if label:
        lines.append(f"Кому: {esc(label)}")
    lines += _outcome_lines(r.sent, r.total, r.blocked, r.failed)
    if r.pending:
        lines.append(f"Не отправлено: {r.pending}")
    if r.broadcast.rsvp:
        silent = max(0, r.sent - r.yes - r.no)
        lines.append(
            f"Ответы: «{RSVP_YES}» — {r.yes}, «{RSVP_NO}» — {r.no}, не ответили — {silent}"
        )
    return "\n".join(lines)
