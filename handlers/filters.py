"""Role checks. Every router filters on the caller's role; whatever no router takes is denied
by the fallback router (deny by default)."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import TelegramObject

from storage.models import Role, User


class HasRole(Filter):
    """Passes when the caller is a registered, active user with one of ``roles``.

    The user comes from :class:`bot.middlewares.DatabaseMiddleware` as ``user``.
    """

    def __init__(self, *roles: Role) -> None:
        self.roles = frozenset(roles)

    async def __call__(self, _event: TelegramObject, user: User | None = None, **_: Any) -> bool:
        return (
            user is not None
            and user.anonymised_at is None
            and (not self.roles or Role(user.role) in self.roles)
        )


REGISTERED = HasRole(Role.RESERVIST, Role.MENTOR, Role.OFFICER)
