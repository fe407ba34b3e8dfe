"""The package's layers, as docs/architecture.md draws them, enforced on the source.

Every import is counted, also those inside functions and under TYPE_CHECKING: a pure
layer that imports an engine lazily is still not pure.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "voice"
MAX_MODULE_LINES = 500

# layer: the layers it must not import. core and conversation are pure (text in,
# decisions out); lang is data; the front ends sit on top and nothing imports the CLI.
FRONT_ENDS_AND_IO = {
    "voice.asr",
    "voice.audio",
    "voice.speech",
    "voice.service",
    "voice.terminal",
    "voice.wyoming",
    "voice.cli",
}
FORBIDDEN = {
    "voice.core": FRONT_ENDS_AND_IO | {"voice.conversation", "voice.assistant", "voice.vocabulary"},
    "voice.conversation": FRONT_ENDS_AND_IO | {"voice.assistant", "voice.vocabulary"},
    "voice.lang": FRONT_ENDS_AND_IO | {"voice.core", "voice.conversation", "voice.assistant"},
    "voice.asr": {
        "voice.service",
        "voice.wyoming",
        "voice.terminal",
        "voice.cli",
        "voice.conversation",
        "voice.assistant",
    },
    "voice.audio": {"voice.service", "voice.wyoming", "voice.terminal", "voice.cli", "voice.assistant"},
    "voice.speech": {"voice.service", "voice.wyoming", "voice.terminal", "voice.cli", "voice.assistant"},
    "voice.service": {"voice.cli", "voice.terminal", "voice.wyoming"},
    "voice.terminal": {"voice.cli", "voice.service", "voice.wyoming"},
    "voice.wyoming": {"voice.cli", "voice.service", "voice.terminal"},
    # The wiring sits below every front end.
    **{
        wiring: {"voice.wyoming"}
        for wiring in (
            "voice.assistant",
            "voice.spoken",
            "voice.review",
            "voice.vocabulary",
            "voice.profiles",
            "voice.enrol",
        )
    },
}
CLI_IMPORTERS = ("voice.cli", "voice.__main__")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every voice module `path` imports, by full name (`from voice.x import y` counts
    voice.x and, where y is a module, voice.x.y)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in names if name == "voice" or name.startswith("voice.")}


def within(name: str, layer: str) -> bool:
    return name == layer or name.startswith(layer + ".")


MODULES = sorted(PACKAGE.rglob("*.py"))


def test_the_package_has_its_layers() -> None:
    names = {module_name(path) for path in MODULES}
    for layer in (
        "voice.core",
        "voice.conversation",
        "voice.lang",
        "voice.asr",
        "voice.audio",
        "voice.speech",
    ):
        assert layer in names, f"{layer} is missing"
    assert "voice.assistant" in names


@pytest.mark.parametrize("path", MODULES, ids=lambda path: str(path.relative_to(ROOT)))
def test_imports_respect_the_layers(path: Path) -> None:
    name = module_name(path)
    wrong = []
    for target in sorted(imported(path)):
        for layer, forbidden in FORBIDDEN.items():
            if within(name, layer) and any(within(target, bad) for bad in forbidden):
                wrong.append(f"{name} ({layer}) imports {target}")
        if within(target, "voice.cli") and not name.startswith(CLI_IMPORTERS):
            wrong.append(f"{name} imports the command line ({target})")
    assert not wrong, "\n".join(wrong)


@pytest.mark.parametrize(
    "path",
    [*MODULES, *sorted((ROOT / "tools").rglob("*.py"))],
    ids=lambda path: str(path.relative_to(ROOT)),
)
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.name} has {lines} lines; split it below {MAX_MODULE_LINES}"


def test_the_checker_sees_a_forbidden_import(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from voice.audio.mic import Microphone\n    import voice.cli.text\n")
    assert imported(bad) == {"voice.audio.mic", "voice.audio.mic.Microphone", "voice.cli.text"}


def test_the_public_api_names_what_it_exports() -> None:
    import voice

    assert sorted(voice.__all__) == sorted([*voice._EXPORTS, "__version__"])
    for name in voice.__all__:
        assert getattr(voice, name) is not None
