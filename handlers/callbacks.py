"""Callback data of the handlers' inline buttons (aiogram CallbackData; 64 bytes at most, Bot
API); that of the buttons the Telegram adapter sends on its own (under reminders, digests and
broadcasts) is in :mod:`bot.telegram.callbacks`, and the people picker's ``PeopleCb`` is in
:mod:`handlers.picker`, with the picker.

Numbers are typed :data:`Id` (a database id: 0 to 2**31-1, the range of the id columns, which
are INTEGER on PostgreSQL) or :data:`Number` (a page, a year, an index: a signed 32-bit
integer, as the year columns). A button whose number is out of range (a 20-digit id, or one
beyond what PostgreSQL's columns take), or not written in ASCII digits, fails validation;
aiogram's filter then does not match it and the deny-by-default fallback answers «Кнопка
устарела», so no handler and no query ever sees such a number.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.services.validation import Id, Number

__all__ = ["Id", "Number"]  # re-exported: the typed fields of every CallbackData here


class ConsentCb(CallbackData, prefix="consent"):
    """Answer to the personal-data consent: ``yes`` or ``no``."""

    answer: str


class DeleteCb(CallbackData, prefix="delme"):
    """Answer to /delete_me: ``yes`` or ``no``."""

    answer: str


class PlanPageCb(CallbackData, prefix="plan"):
    """A page of /plan; ``year`` 0 means the current year."""

    page: Number
    year: Number = 0


class LogStepCb(CallbackData, prefix="log"):
    """A button inside the logging dialogue: ``today`` or ``skip``."""

    step: str


class MonthCb(CallbackData, prefix="month"):
    """The due month of a personal item."""

    year: Number
    month: Number


class SettingsCb(CallbackData, prefix="set"):
    """/settings buttons: ``zone`` (open the list), ``mute``, ``unmute``, ``tz`` with ``index``."""

    action: str
    index: Number = -1


class AssignCb(CallbackData, prefix="asg"):
    """An officer's action on a reservist's card: ``assign`` (or change) or ``end``."""

    action: str
    reservist_id: Id


class ConsultPickCb(CallbackData, prefix="cpk"):
    """A choice inside /consult: ``format`` (in_person, online, phone) or ``item`` (id, 0 none)."""

    kind: str
    value: str


class MenteeCb(CallbackData, prefix="mnt"):
    """The mentor's view: ``open`` a mentee (id = user), an ``item`` card, ``confirm``,
    ``comment`` or ``evidence`` of an item (id = item)."""

    action: str
    id: Id


class PersonCb(CallbackData, prefix="psn"):
    """An officer's person card: ``open`` it, or start a lifecycle ``status`` step."""

    action: str
    id: Id
    status: str = ""


class ActivityCb(CallbackData, prefix="act"):
    """Roadmap management: ``page`` (id = page), ``open``, ``rename``, ``reschedule``,
    ``flag_res``, ``flag_conf``, ``remove`` (id = activity), ``add``."""

    action: str
    id: Id = 0


class BroadcastStepCb(CallbackData, prefix="bst"):
    """Composing a broadcast: ``done`` (content complete), ``kind`` (audience kind, in
    ``value``), ``pick`` (a value by index), ``rsvp`` (``value`` yes/no), ``send``, ``cancel``."""

    step: str
    value: str = ""


class ListPageCb(CallbackData, prefix="lst"):
    """A page of a long list: ``pairs`` (/pairs) or ``mentees`` (/mentees)."""

    kind: str
    page: Number


class MenteePlanCb(CallbackData, prefix="mpl"):
    """A page of a mentee's plan seen by the mentor (``id`` = the mentee)."""

    id: Id
    page: Number


class CommentsCb(CallbackData, prefix="cmt"):
    """Earlier comments of a plan item: those before the ``before``-th (0-based, oldest
    first) that fit one message."""

    item_id: Id
    before: Number
