"""aiogram's Telegram types built on first use instead of at import.

``aiogram/types/__init__.py`` ends with ``model_rebuild(_types_namespace=...)`` on each of its
~330 pydantic models, to resolve their forward references. That builds every validator at once,
each with its own copy of the schemas it nests (an ``Update`` holds a ``Message``, which holds
nearly every other type): importing aiogram 3.31 costs about 3–4 s and 105 MiB here, most of a
bot process's start and idle memory, though a bot validates a dozen of those models. The models
are declared ``defer_build=True``; the eager rebuild undoes that. Upstream: aiogram issues
#1513 (memory), #1876 and #1891 (import time), still open for aiogram 3.31.

:func:`defer_aiogram_model_builds` (called by :mod:`bot`'s ``__init__``, before any aiogram
import of this program) keeps the namespace aiogram passes and lets pydantic build each model
the first time it is used, with that namespace. Measured (``bench.startup``, ``bench.memory``):
``import aiogram`` 0.8 s and 59 MiB instead of 3.8 s and 165 MiB; the first update then builds
what it needs in about 0.1–0.2 s. ``tests/test_lazy_types.py`` builds every aiogram type and
method this way and compares a validated update with aiogram's own eager build, so an aiogram
or pydantic release that changes these hooks fails the suite rather than a user's update.

Remove this module when aiogram stops rebuilding its models eagerly at import.
"""

from __future__ import annotations

import sys
from typing import Any

from pydantic import BaseModel

#: Module prefix of the models whose builds are deferred (types, methods, and the generic
#: ``Response[...]`` aiogram parametrises per method).
AIOGRAM_PREFIX = "aiogram."
#: The namespace aiogram's types ``__init__`` passes to each ``model_rebuild``: every type by
#: name plus ``Optional``, ``Union``, ``Literal``, ``Default``. Filled by the first such call.
_NAMESPACE: dict[str, Any] = {}
#: Marks the installed ``model_rebuild`` (so that a second call is a no-op).
_MARK = "_reserve_deferred_aiogram_builds"


def defer_aiogram_model_builds() -> bool:
    """Make aiogram's types build their validators on first use (see the module's docstring).

    Installs a ``model_rebuild`` on pydantic's ``BaseModel`` that, for models of aiogram's
    modules only:

    - when called by aiogram's types ``__init__`` with its namespace on a model not built yet,
      keeps the namespace and returns ``None`` (nothing built, the model stays deferred);
    - when called without a namespace — pydantic's first use of a deferred model, or a caller's
      own ``model_rebuild()`` — builds it with that kept namespace, which resolves the forward
      references the way aiogram's eager rebuild did.

    Every other model's ``model_rebuild`` is pydantic's own, unchanged.

    Returns:
        True if the builds are deferred (now or by an earlier call); False if aiogram's types
        were imported before this call (they were built eagerly; nothing is changed).
    """
    current = BaseModel.__dict__["model_rebuild"]
    if getattr(current.__func__, _MARK, False):
        return True
    if "aiogram.types" in sys.modules:
        return False
    original = current.__func__

    def model_rebuild(
        cls: type[BaseModel],
        *,
        force: bool = False,
        raise_errors: bool = True,
        _parent_namespace_depth: int = 2,
        _types_namespace: Any = None,
    ) -> bool | None:
        if cls.__module__.startswith(AIOGRAM_PREFIX):
            if _types_namespace is not None:
                if not force and not cls.__pydantic_complete__:
                    _NAMESPACE.update(_types_namespace)
                    return None
            elif _NAMESPACE:
                _types_namespace = _NAMESPACE
        result: bool | None = original(
            cls,
            force=force,
            raise_errors=raise_errors,
            # one frame deeper than pydantic expects: this wrapper's
            _parent_namespace_depth=_parent_namespace_depth + 1,
            _types_namespace=_types_namespace,
        )
        return result

    setattr(model_rebuild, _MARK, True)
    BaseModel.model_rebuild = classmethod(model_rebuild)  # type: ignore[method-assign,assignment]
    return True
