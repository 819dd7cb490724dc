"""The searchable, paged list an officer picks a person from: /assign's reservists and mentors
(:mod:`handlers.mentoring.officers`), /report's reservists (:mod:`handlers.reports`) and /find's
people (:mod:`handlers.reserve`).

A :class:`PeoplePicker` shows a page of its candidates (a :class:`~bot.services.mentoring.Pool`
in the officer's scope) whose name, organisation or municipality contain every word of the
search, read a page at a time (:func:`bot.services.mentoring.search_people`), one button a
person (:class:`PeopleCb` ``pick``) and «Назад» / «Далее» (``page``). Its
``purpose`` in the callback data tells the lists apart; the search is kept in the dialogue's data,
so that a page turned goes on through the same matches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiogram import F
from aiogram.filters.callback_data import CallbackData, CallbackQueryFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot import texts
from bot.services.mentoring import Page, Pool, search_people
from bot.services.validation import Id, clean_text
from bot.telegram import short
from handlers.common import Target, callback_message
from handlers.keyboards import attach_page_nav
from storage.models import User
from storage.repo import Repo


class PeopleCb(CallbackData, prefix="ppl"):
    """A button of a people picker: ``purpose`` is the picker's (ar: /assign's reservists,
    am: /assign's mentors, rp: /report, fd: /find); ``action`` page or pick; ``value`` a page or
    a user id."""

    purpose: str
    action: str
    value: Id


def person_label(person: User) -> str:
    """A person in a picker's button: name and school."""
    return texts.person_label(person.full_name, person.organisation)


@dataclass(frozen=True, slots=True)
class PeoplePicker:
    """One searchable list of people to pick from.

    Attributes:
        purpose: the ``purpose`` of its buttons' :class:`PeopleCb` (at most a few characters:
            buttons already sent carry it).
        title: the header of its pages.
        pool: whom the officer may pick (of their scope).
        empty: the answer when there are no candidates at all.
        label: a person's button text (shortened to fit a button).
        query_key: where the dialogue's data keeps the search.
        query_required: a page button without a kept search is stale (the search was the
            command's argument, not something to go without).
    """

    purpose: str
    title: str
    pool: Pool
    empty: str = texts.NOBODY_FOUND
    label: Callable[[User], str] = person_label
    query_key: str = "query"
    query_required: bool = False

    def buttons(self, action: str) -> CallbackQueryFilter:
        """The filter of this picker's buttons doing ``action`` (``page`` or ``pick``)."""
        return PeopleCb.filter((F.purpose == self.purpose) & (F.action == action))

    def keyboard(self, people: Sequence[User], page: int, pages: int) -> InlineKeyboardMarkup:
        """One button per person of the page, then «Назад» / «Далее» to the pages around."""
        kb = InlineKeyboardBuilder()
        for person in people:
            kb.button(
                text=short(self.label(person)),
                callback_data=PeopleCb(purpose=self.purpose, action="pick", value=person.id),
            )
        kb.adjust(1)
        attach_page_nav(
            kb, page, pages, lambda p: PeopleCb(purpose=self.purpose, action="page", value=p)
        )
        return kb.as_markup()

    async def find(self, repo: Repo, officer: User, query: str | None, page: int) -> Page:
        """Page ``page`` (clamped) of ``officer``'s candidates matching ``query`` (None: all).

        Raises:
            AccessDeniedError: ``officer`` is not an officer.
        """
        return await search_people(repo, officer, self.pool, query, page)

    async def render(
        self, target: Target, found: Page, query: str | None, *, edit: bool = False
    ) -> None:
        """``found`` (the page of the search ``query``) answered in ``target``'s chat, or put
        in place of ``target`` with ``edit`` (a page turned); :attr:`empty` when there are no
        candidates at all, «Никого не нашлось» when nobody matches."""
        if not found.pool:
            await target.answer(self.empty)
            return
        if not found.people:
            await target.answer(texts.NOBODY_FOUND)
            return
        text = texts.people_page(self.title, query, found.total, found.page, found.pages)
        markup = self.keyboard(found.people, found.page, found.pages)
        if edit and isinstance(target, Message):
            await target.edit_text(text, reply_markup=markup)
        else:
            await target.answer(text, reply_markup=markup)

    async def show(
        self,
        target: Target,
        repo: Repo,
        officer: User,
        query: str | None,
        page: int,
        *,
        edit: bool = False,
    ) -> None:
        """:meth:`render` page ``page`` of ``officer``'s candidates matching ``query``."""
        await self.render(target, await self.find(repo, officer, query, page), query, edit=edit)

    async def start(
        self,
        target: Target,
        state: FSMContext,
        repo: Repo,
        officer: User,
        query: str | None = None,
    ) -> None:
        """The first page of the candidates matching ``query`` (None: all); the search is kept
        for the page buttons."""
        await state.update_data({self.query_key: query})
        await self.show(target, repo, officer, query, 1)

    async def search(self, message: Message, state: FSMContext, repo: Repo, user: User) -> None:
        """A handler: text typed while the list is shown searches it (1-100 characters).

        Raises:
            InputError: the text is empty or too long.
        """
        await self.start(message, state, repo, user, clean_text(message.text, 1, 100))

    async def turn(
        self,
        query: CallbackQuery,
        callback_data: PeopleCb,
        state: FSMContext,
        repo: Repo,
        user: User,
    ) -> None:
        """A handler: a page button turns the list to that page (edited in place).

        Raises:
            NotFoundError: the list's message is no longer accessible.
        """
        message = callback_message(query)
        data = await state.get_data()
        if self.query_required and self.query_key not in data:
            await query.answer(texts.STALE_BUTTON, show_alert=True)
            return
        await query.answer()
        await self.show(
            message, repo, user, data.get(self.query_key), callback_data.value, edit=True
        )
