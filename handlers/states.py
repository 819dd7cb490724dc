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


class AssignFlow(StatesGroup):
    """An officer picks a reservist, then a mentor (typing text searches the list)."""

    reservist = State()
    mentor = State()


class ConsultFlow(StatesGroup):
    """Logging a consultation: (mentee), date, format, topic, minutes, note, plan item."""

    mentee = State()
    date = State()
    format = State()
    topic = State()
    minutes = State()
    note = State()
    item = State()


class DeclineFlow(StatesGroup):
    """The reason for declining a consultation."""

    reason = State()


class CommentFlow(StatesGroup):
    """A mentor's comment on a mentee's item."""

    text = State()


class StatusFlow(StatesGroup):
    """An officer records a lifecycle step: date, then the fields the status needs."""

    date = State()
    order_number = State()
    post = State()
    organisation = State()
    reason = State()


class RoadmapFlow(StatesGroup):
    """An officer adds or edits a roadmap activity."""

    add_title = State()
    add_schedule = State()
    rename = State()
    reschedule = State()


class BroadcastFlow(StatesGroup):
    """An officer composes a broadcast: content, audience (and its value), RSVP, confirm."""

    compose = State()
    audience = State()
    value = State()
    rsvp = State()
    confirm = State()
