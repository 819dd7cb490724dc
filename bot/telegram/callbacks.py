"""Callback data of the buttons that the adapter sends on its own (aiogram CallbackData; 64
bytes at most, Bot API): under a reminder (:class:`ItemCb`), a digest (:class:`ConsultCb`) and
a broadcast (:class:`BroadcastAnswerCb`, :class:`BroadcastControlCb`). The handlers that
answer these buttons, and build more of them, import them from :mod:`bot.telegram`; the
callback data of the handlers' other buttons is in :mod:`handlers.callbacks`.

Numbers are typed :data:`~bot.services.validation.Id` or
:data:`~bot.services.validation.Number`: a button whose number is out of range fails
validation, so no handler sees it.
"""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from bot.services.validation import Id, Number


class ItemCb(CallbackData, prefix="item"):
    """An action on a plan item: open, done, correct, reopen, later."""

    action: str
    item_id: Id
    page: Number = 1


class ConsultCb(CallbackData, prefix="cns"):
    """The other side's answer to a consultation: ``yes`` or ``no``."""

    action: str
    consultation_id: Id


class BroadcastAnswerCb(CallbackData, prefix="bcast"):
    """A recipient's RSVP answer: ``yes`` («Буду») or ``no`` («Не смогу»)."""

    broadcast_id: Id
    answer: str


class BroadcastControlCb(CallbackData, prefix="bctl"):
    """The officer's buttons: ``stop`` or ``resume`` under the progress message, ``resend``
    (the failed recipients) under /broadcasts."""

    action: str
    broadcast_id: Id
