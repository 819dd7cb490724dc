"""FSM states of the dialogues (aiogram StatesGroup)."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class Registration(StatesGroup):
    """Opening an invite: consent, then the profile."""

    consent = State()
    full_name = State()
    organisation = State()
    position = State()
    municipality = State()


class LogItem(StatesGroup):
    """Logging an item done: date, comment, evidence."""

    date = State()
    comment = State()
    evidence = State()


class AddItem(StatesGroup):
    """Adding a personal plan item: title, month."""

    title = State()
    month = State()
