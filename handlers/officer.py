"""Officers' commands: /invite."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import texts
from bot.config import Settings
from bot.services.people import PeopleService
from bot.services.scope import normalise, officer_municipality
from bot.services.validation import ascii_number, column_length
from handlers.filters import HasRole
from storage.models import Invite, Role, User
from storage.repo import Repo

ROLE_WORDS = {
    "reservist": Role.RESERVIST,
    "резервист": Role.RESERVIST,
    "mentor": Role.MENTOR,
    "наставник": Role.MENTOR,
    "officer": Role.OFFICER,
    "специалист": Role.OFFICER,
}


def setup() -> Router:
    """The router of this module; every handler needs the officer role."""
    router = Router(name="officer")
    router.message.filter(HasRole(Role.OFFICER))
    router.callback_query.filter(HasRole(Role.OFFICER))
    router.message.register(invite, Command("invite"))
    return router


def parse_invite_args(args: str | None) -> tuple[Role, int, str | None] | None:
    """``reservist|mentor|officer [N] [municipality…]`` → (role, uses, municipality) or None."""
    words = (args or "").split()
    if not words or words[0].casefold() not in ROLE_WORDS:
        return None
    role = ROLE_WORDS[words[0].casefold()]
    uses = 1
    rest = words[1:]
    if rest and (number := ascii_number(rest[0])) is not None:
        uses = number
        rest = rest[1:]
        if not 1 <= uses <= 1000:
            return None
    municipality = " ".join(rest) or None
    if municipality is not None and (
        len(municipality) > column_length(Invite.municipality) or "\x00" in municipality
    ):
        return None
    return role, uses, municipality


async def invite(
    message: Message,
    command: CommandObject,
    repo: Repo,
    user: User,
    bot: Bot,
    settings: Settings,
    clock: Callable[[], datetime],
    zone: ZoneInfo,
) -> None:
    """/invite reservist|mentor|officer [N] [municipality]: a deep link for N people; its
    expiry is shown in the officer's ``zone``."""
    parsed = parse_invite_args(command.args)
    if parsed is None:
        await message.answer(texts.INVITE_USAGE)
        return
    role, uses, municipality = parsed
    own = officer_municipality(user)
    if own is not None:
        # a municipal officer invites people of their own municipality only
        if municipality is not None and normalise(municipality) != normalise(own):
            await message.answer(texts.invite_other_municipality(own))
            return
        municipality = own
    created = await PeopleService(repo).create_invite(
        user,
        role,
        now=clock(),
        ttl=timedelta(days=settings.invite_ttl_days),
        max_uses=uses,
        municipality=municipality,
    )
    me = await bot.me()
    link = f"https://t.me/{me.username}?start={created.code}"
    expires = created.expires_at.astimezone(zone)
    await message.answer(
        texts.invite_created(role, link, uses, f"{expires:%d.%m.%Y %H:%M}", municipality)
    )
