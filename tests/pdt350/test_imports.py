"""The sans-IO cores import no I/O, clock or threading modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parent.parent.parent / "gateway" / "pdt350"
CORES = ["hrnp", "hdap", "rcp", "tmp", "hrnp_link", "hdap_session", "hytera_session", "hytera_events", "radio_session"]
FORBIDDEN = {"asyncio", "serial", "socket", "time", "threading", "select", "selectors"}


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("module", CORES)
def test_core_imports_no_io(module: str) -> None:
    assert imported_modules(PACKAGE / f"{module}.py") & FORBIDDEN == set()


def test_cores_pull_in_no_io_modules_transitively() -> None:
    """Run in a fresh interpreter (``time`` is left out: the stdlib loads it itself)."""
    import subprocess
    import sys

    modules = ", ".join(f"gateway.pdt350.{name}" for name in CORES)
    code = (
        f"import sys, {modules}\n"
        "bad = {'asyncio', 'serial', 'socket', 'threading'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    root = PACKAGE.parent.parent
    result = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
