"""The package as a user installs it: a wheel built from this tree, installed into a
fresh virtual environment outside the repository, answers from its bundled set.

The editable install in .venv would hide a wheel that cannot find its files, so the
commands run from a temporary folder with nothing of the repository on their path. The
fresh environment borrows the dependencies already installed in this one (a .pth file
naming its site-packages) rather than downloading them again: what is checked is the
wheel's own contents.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("voicefaq-*.whl")
    return built


@pytest.fixture(scope="module")
def fresh_env(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("fresh") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", str(wheel)],
        check=True,
        capture_output=True,
    )
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    # Only the dependencies: this environment's editable voicefaq is a .pth in *its*
    # site-packages, which Python does not read when the folder is added this way.
    (Path(site) / "borrowed_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _run(venv: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("VOICEFAQ_", "PYTHON"))}
    return subprocess.run(
        [str(venv / "bin" / "voicefaq"), *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def test_the_wheel_carries_the_bundled_set(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "voice/_answers/ms-physical-therapy/set.yaml" in names
    assert "voice/_answers/ms-physical-therapy/entries.yaml" in names
    assert "voice/service/static/index.html" in names


def test_the_installed_package_is_the_wheel(fresh_env: Path, tmp_path: Path) -> None:
    found = subprocess.run(
        [str(fresh_env / "bin" / "python"), "-c", "import voice; print(voice.__file__)"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert found.startswith(str(fresh_env)), found


def test_check_finds_the_bundled_set(fresh_env: Path, tmp_path: Path) -> None:
    result = _run(fresh_env, "check", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "_answers/ms-physical-therapy: ok:" in result.stdout


def test_ask_answers_from_the_bundled_set(fresh_env: Path, tmp_path: Path) -> None:
    result = _run(fresh_env, "ask", "--json", "what is a rollator", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert (answer["decision"], answer["entry_id"]) == ("answer", "mobility-aids"), answer
