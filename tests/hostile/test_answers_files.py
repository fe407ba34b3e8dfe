"""Malformed and hostile answers files: refused by `voicefaq check`, by loading, and by the
service's reload (which keeps the set it has), at a bounded cost."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.hostile.conftest import ROOT, TOKEN, Service, in_process, run_measured
from voice.core.faq import check_set

BUNDLED = ROOT / "answers" / "ms-physical-therapy"


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """`levels` levels of `width` aliases of the level below: 9 x 9 expands to 387 million
    values from 900 bytes."""
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    for level in range(1, levels):
        lines.append(f"a{level}: &a{level} [{', '.join([f'*a{level - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


HOSTILE_FILES = {
    "alias bomb": alias_bomb(),
    "recursive alias": "entries: &e\n  - *e\n",
    "deep nesting": "entries:\n" + "".join("  " * depth + "- \n" for depth in range(1, 200)),
    "flow nesting": "entries: " + "[" * 5000 + "]" * 5000 + "\n",
    "python tag": "entries: !!python/object/apply:os.system ['echo owned']\n",
    "not utf-8": "entries: [caf\xe9]\n",
}


@pytest.fixture
def answers(tmp_path: Path) -> Path:
    copy = tmp_path / "set"
    shutil.copytree(BUNDLED, copy)
    return copy


@pytest.mark.parametrize("name", sorted(HOSTILE_FILES))
def test_hostile_entry_files_are_problems_at_a_bounded_cost(answers: Path, name: str) -> None:
    encoding = "latin-1" if name == "not utf-8" else "utf-8"
    (answers / "extra.yaml").write_text(HOSTILE_FILES[name], encoding=encoding)
    result, cost = in_process(lambda: check_set(answers))
    assert not isinstance(result, BaseException), result
    faq_set, problems = result
    assert problems, "a hostile file was accepted"
    assert any("extra.yaml" in str(problem) for problem in problems)
    assert cost.peak_mb < 100, cost  # the bundled set itself takes a few MB


@pytest.mark.slow
def test_check_refuses_an_alias_bomb_quickly(answers: Path) -> None:
    (answers / "extra.yaml").write_text(alias_bomb())
    ran = run_measured(["check", str(answers)])
    assert ran.code == 1 and "aliases" in ran.err and "Traceback" not in ran.err, ran.err
    assert ran.cost.peak_mb < 300, ran.cost  # it grew past 3 GB


@pytest.mark.slow
def test_reload_refuses_a_hostile_set_and_keeps_serving(service: Service) -> None:
    extra = service.answers / "extra.yaml"
    extra.write_text(alias_bomb())
    try:
        with service.client() as client:
            reply = client.post("/api/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        assert reply.status_code == 422 and "aliases" in reply.json()["error"], reply.text
    finally:
        extra.unlink()
    service.assert_healthy()  # the old set still answers
