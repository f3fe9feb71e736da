"""Imports run one way: delivery and listeners -> flows -> data and integrations.

Read from the source (ast), so imports inside functions and `TYPE_CHECKING` blocks
count too: a path back up cannot hide in a function body.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

BOT = Path(__file__).resolve().parent.parent / "bot"
DELIVERY = (
    "bot.worker",
    "bot.runtime",
    "bot.web",
    "bot.app",
    "bot.listeners",
    "bot.__main__",
    "bot.sandbox",
    "bot.cli",
    "bot.tasks",
)


def module_name(path: Path) -> str:
    parts = path.relative_to(BOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, *, package: str) -> set[str]:
    """Every module (and `module.name`) the source imports, relative ones resolved."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _package(path: Path) -> str:
    name = module_name(path)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


MODULES = {
    module_name(p): imports_of(p.read_text(encoding="utf-8"), package=_package(p))
    for p in sorted(BOT.rglob("*.py"))
}


def upward(layer: str, forbidden: tuple[str, ...]) -> dict[str, list[str]]:
    found = {
        module: sorted(n for n in names if within(n, forbidden))
        for module, names in MODULES.items()
        if within(module, (layer,))
    }
    return {module: names for module, names in found.items() if names}


@pytest.mark.parametrize("layer", ["bot.flows", "bot.store", "bot.crm", "bot.slack"])
def test_flows_data_and_integrations_never_import_delivery(layer):
    assert any(within(m, (layer,)) for m in MODULES)
    assert upward(layer, DELIVERY) == {}


@pytest.mark.parametrize("layer", ["bot.store", "bot.crm", "bot.slack"])
def test_data_and_integrations_import_no_flow(layer):
    assert upward(layer, ("bot.flows",)) == {}


def test_lazy_typing_and_relative_imports_are_seen():
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from bot.worker import Worker\n"
        "def f():\n    import bot.runtime\n"
        "from ..tasks import build_worker\n"
        "from . import home\n"
    )
    found = imports_of(source, package="bot.flows")
    assert {"bot.worker", "bot.runtime", "bot.tasks", "bot.flows.home"} <= found
