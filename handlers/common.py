"""What many handlers share: the message under a pressed button, and the answer to a rejected
input that asks the dialogue's question again.

A handler lets the domain errors of the services escape: the error router
(:mod:`handlers.errors`) answers them once the update's transaction was rolled back, so the
answer never reports a change that was not saved, and a change made half-way is not saved.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from aiogram.types import (
    CallbackQuery,
    ForceReply,
    InaccessibleMessage,
    InlineKeyboardMarkup,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
)

from bot.services.errors import InputError, NotFoundError

#: What a reply may carry under its text.
ReplyMarkup = InlineKeyboardMarkup | ReplyKeyboardMarkup | ReplyKeyboardRemove | ForceReply
#: A message to answer in its chat: the message a user sent, or the one under a pressed button,
#: which may be too old for the bot to read or edit (:class:`InaccessibleMessage`) but still
#: takes answers.
Target = Message | InaccessibleMessage


def callback_message(query: CallbackQuery) -> Message:
    """The message under the pressed button, to read or edit.

    Raises:
        NotFoundError: there is none (an inline message), or Telegram no longer shows it to the
            bot (deleted, or some days old): the button is stale.
    """
    if not isinstance(query.message, Message):
        raise NotFoundError("the button's message is not accessible")
    return query.message


def callback_target(query: CallbackQuery) -> Target:
    """The message under the pressed button, to answer in its chat (also one too old to read or
    edit, see :data:`Target`).

    Raises:
        NotFoundError: there is none (a button of an inline message): the button is stale.
    """
    if query.message is None:
        raise NotFoundError("the button has no message")
    return query.message


class StepInputError(InputError):
    """An input a dialogue step refused: answered with the reason followed by the step's question
    (``prompt``) and keyboard (``reply_markup``), the step going on."""

    def __init__(
        self, reason: str, prompt: str | None = None, reply_markup: ReplyMarkup | None = None
    ) -> None:
        super().__init__(f"{reason}\n\n{prompt}" if prompt else reason)
        self.reply_markup = reply_markup


@contextmanager
def asking_again(
    prompt: str | None = None, reply_markup: ReplyMarkup | None = None
) -> Iterator[None]:
    """Within it, an :class:`InputError` is raised again as :class:`StepInputError` with the step's
    ``prompt`` and ``reply_markup``.

    Raises:
        StepInputError: the input was refused.
    """
    try:
        yield
    except InputError as exc:
        raise StepInputError(exc.message, prompt, reply_markup) from exc
