"""The layers of the README's architecture, read from the code: every import points down
(handlers -> services -> storage), the domain has no aiogram, and no module imports itself
back through others (no import circles, lazy and type-checking imports included)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from tests.fresh_python import fresh_python

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bot", "handlers", "scheduler", "storage")

#: aiogram's FSM storage kept in the database: aiogram's interface, implemented where SQL may be.
AIOGRAM_STORAGE = "storage.fsm"

#: What each layer must not import (a module name or the prefix of its dotted name).
FORBIDDEN = {
    "bot.services": ("aiogram", "handlers", "bot.telegram", "bot.app", "bot.middlewares"),
    "bot.texts": ("aiogram", "handlers", "bot.services", "bot.telegram", "storage"),
    "storage": ("aiogram", "handlers", "bot"),
    "bot.telegram": ("handlers",),
}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" in path.parts:
                continue  # Alembic's scripts, loaded by Alembic
            found[module_name(path)] = path
    return found


MODULES = project_modules()


def imports_of(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports, wherever the import statement is (top level, inside a
    function, under ``if TYPE_CHECKING``); ``from package import submodule`` counts as the
    submodule."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return found


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_imports_point_down(layer: str) -> None:
    wrong = sorted(
        f"{name} imports {target}"
        for name, targets in GRAPH.items()
        if within(name, layer) and name != AIOGRAM_STORAGE
        for target in targets
        for forbidden in FORBIDDEN[layer]
        if within(target, forbidden)
    )
    assert not wrong, "\n".join(wrong)


def test_no_import_circles() -> None:
    """No module reaches itself through the project's imports (Tarjan's strongly connected
    components of the import graph; a package and its own modules included). So whatever a
    benchmark or a test imports first never meets a half-initialised module (bench.broadcast
    once failed so: bot.broadcast_telegram -> handlers -> bot.broadcast_telegram)."""
    graph = {
        name: {t for t in targets if t in MODULES and t != name} for name, targets in GRAPH.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    assert not circles, "\n".join(" <-> ".join(c) for c in circles)


def test_the_domain_runs_without_aiogram() -> None:
    """Every module of the services, the texts and the storage imported in a fresh interpreter
    leaves aiogram unloaded: the domain could serve another messenger."""
    domain = sorted(
        name
        for name in MODULES
        if any(within(name, layer) for layer in ("bot.services", "bot.texts", "storage"))
        and name != AIOGRAM_STORAGE
    )
    code = (
        "import importlib, sys\n"
        f"for name in {domain!r}:\n"
        "    importlib.import_module(name)\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aiogram'))\n"
    )
    out = fresh_python(code)
    assert out.strip() == "[]", out[:500]


#: Modules a polling bot does not need until it uses them (issue 10: heavy imports belong in
#: the functions that need them): the export and report builders, matplotlib, the roadmap's
#: Word reader, Alembic (only to migrate), aiohttp's server (only with a web server).
LOADED_ON_USE = ("alembic", "aiohttp.web", "docx", "matplotlib", "openpyxl", "xlsxwriter")


def test_the_bot_process_imports_what_it_needs_at_start_only() -> None:
    """``import bot.runner`` in a fresh interpreter: the modules above stay unloaded, and
    aiogram's models are not built (``bot.lazy_types``)."""
    code = (
        "import sys\n"
        "import bot.runner\n"
        "from aiogram.types import Message, Update\n"
        f"print(sorted(m for m in {LOADED_ON_USE!r} if m in sys.modules))\n"
        "print(Update.__pydantic_complete__ or Message.__pydantic_complete__)\n"
    )
    out = fresh_python(code)
    assert out.split("\n")[:2] == ["[]", "False"], out[:500]
