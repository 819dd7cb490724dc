"""The handlers' clock type, and the dialogue step asking for a date: the «Сегодня» button or a
date typed as ДД.ММ.ГГГГ (:class:`DateStep`; /log's completion date in :mod:`handlers.plan`,
/consult's date in :mod:`handlers.mentoring.consultations`).

The clock comes from the dispatcher's data so tests can move it; the caller's ``today`` from the
update's data (:class:`bot.middlewares.TimeMiddleware`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime

from aiogram import F, Router
from aiogram.dispatcher.event.handler import CallbackType
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery, Message

from bot.services.validation import parse_user_date
from handlers.callbacks import LogStepCb
from handlers.common import Target, asking_again, callback_target
from handlers.keyboards import today_keyboard

Clock = Callable[[], datetime]
#: What follows a date step: given the message to answer in, the dialogue and the date.
Then = Callable[[Target, FSMContext, date], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class DateStep:
    """The step of a dialogue in ``state`` that asks for a date, then goes on with ``then``.

    The question comes with the «Сегодня» button (:class:`LogStepCb` ``today``); a typed date
    is read by the dialogue's own handler (which knows the earliest date allowed) through
    :meth:`typed`.
    """

    state: State
    then: Then

    def register(self, router: Router, typed: CallbackType, *filters: CallbackType) -> None:
        """Add to ``router`` the handlers of the step, both behind ``filters``: the «Сегодня»
        button's (:meth:`today_pressed`), and ``typed`` for a message."""
        router.callback_query.register(
            self.today_pressed, self.state, LogStepCb.filter(F.step == "today"), *filters
        )
        router.message.register(typed, self.state, *filters)

    async def ask(self, target: Target, state: FSMContext, prompt: str) -> None:
        """Enter the step: ``prompt`` answered in ``target``'s chat, with «Сегодня»."""
        await state.set_state(self.state)
        await target.answer(prompt, reply_markup=today_keyboard())

    async def today_pressed(self, query: CallbackQuery, state: FSMContext, today: date) -> None:
        """A handler: «Сегодня» gives the caller's ``today``.

        Raises:
            NotFoundError: the button has no message (an inline one): it is stale.
        """
        target = callback_target(query)
        await query.answer()
        await self.then(target, state, today)

    async def typed(
        self, message: Message, state: FSMContext, today: date, earliest: date
    ) -> None:
        """Go on with the date typed in ``message`` (ДД.ММ.ГГГГ, from ``earliest`` to
        ``today``).

        Raises:
            StepInputError: the text is no such date; the answer shows «Сегодня» again.
        """
        with asking_again(reply_markup=today_keyboard()):
            when = parse_user_date(message.text, today=today, earliest=earliest)
        await self.then(message, state, when)
