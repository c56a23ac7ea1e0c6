"""Resolve a model name or directory to a verified local directory.

Names come from ``pretrained/registry.json`` (name -> files with sha256). Files are looked up in
``$ROOTS_HOME/<name>/`` first, then in the repository's ``pretrained/<name>/``. Nothing is ever
downloaded: a missing file is an error that says which file and where to put it.
"""
from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Sequence

from ..utils.env import roots_home
from ..utils.files import atomic_write_text, sha256_file

PRETRAINED_DIR = Path(__file__).resolve().parents[2] / "pretrained"
REGISTRY_PATH = PRETRAINED_DIR / "registry.json"
CHECKSUMS_NAME = "checksums.json"


@lru_cache(maxsize=1)
def _read_registry(path: str, mtime: float) -> Dict[str, dict]:
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object name -> entry")
    return data


def load_registry() -> Dict[str, dict]:
    """The registry as ``{name: {"files": {file: sha256}, ...}}`` (empty when absent)."""
    if not REGISTRY_PATH.is_file():
        return {}
    return _read_registry(str(REGISTRY_PATH), REGISTRY_PATH.stat().st_mtime)


def search_dirs(name: str) -> List[Path]:
    return [roots_home() / name, PRETRAINED_DIR / name]


def verify_checksums(directory: Path, expected: Dict[str, str]) -> None:
    """Raise ``ValueError`` naming the first file whose sha256 differs (corrupted or truncated)."""
    for filename, digest in expected.items():
        path = Path(directory) / filename
        if not path.is_file():
            raise FileNotFoundError(f"{path} is missing (listed in {CHECKSUMS_NAME} / registry)")
        actual = sha256_file(path)
        if actual != digest:
            raise ValueError(
                f"{path} is corrupted or truncated: sha256 {actual[:16]}… does not match the "
                f"recorded {digest[:16]}…; restore the file (e.g. `git checkout -- {filename}`) "
                f"or re-save the model")


def write_checksums(directory: Path, filenames: List[str]) -> Path:
    """Record sha256 of ``filenames`` in ``directory/checksums.json`` (atomic)."""
    sums = {name: sha256_file(Path(directory) / name) for name in sorted(filenames)}
    return atomic_write_text(Path(directory) / CHECKSUMS_NAME, json.dumps(sums, indent=2) + "\n")


def read_checksums(directory: Path) -> Dict[str, str]:
    path = Path(directory) / CHECKSUMS_NAME
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} must map file names to sha256 digests")
    return data


def resolve_model_dir(name_or_dir: str | os.PathLike, verify: bool = True) -> Path:
    """Return a local directory holding the model's files, checked against recorded sha256.

    ``name_or_dir`` is a directory (its ``checksums.json`` is verified when present) or a name
    registered in ``pretrained/registry.json``.
    """
    if not isinstance(name_or_dir, (str, os.PathLike)):
        raise TypeError(f"`name_or_dir` must be a str or path, got {type(name_or_dir).__name__}")
    if isinstance(name_or_dir, str) and not name_or_dir.strip():
        raise ValueError("`name_or_dir` is empty; give a model name (e.g. 'roots-base') or a directory")
    path = Path(name_or_dir).expanduser()
    if path.is_dir():
        if verify:
            verify_checksums(path, read_checksums(path))
        return path
    name = str(name_or_dir)
    registry = load_registry()
    if name not in registry:
        raise ValueError(
            f"`name_or_dir`={name!r} is neither a directory nor a registered model; "
            f"registered: {sorted(registry)}")
    files: Dict[str, str] = registry[name].get("files", {})
    candidates = search_dirs(name)
    for directory in candidates:
        if directory.is_dir() and all((directory / f).is_file() for f in files):
            if verify:
                verify_checksums(directory, files)
            return directory
    # Name the first missing file in the most complete candidate.
    best = max(candidates, key=lambda d: sum((d / f).is_file() for f in files))
    missing = next(f for f in files if not (best / f).is_file())
    how = registry[name].get("how_to_get", "train it with the project's tools (see pretrained/README.md)")
    raise FileNotFoundError(
        f"model {name!r}: file {missing!r} not found in {' or '.join(str(d) for d in candidates)}. "
        f"Copy the model's files into {candidates[0]} (or set ROOTS_HOME), or {how}.")


def register_model(name: str, directory: Path, description: str = "", how_to_get: str = "",
                   shared: Sequence[str] = ()) -> dict:
    """Record every file of ``directory`` (but model cards and plots) with its sha256, and the
    ``shared`` files it reads from another shipped model (``"../roots-base/spm.model"``)."""
    skip = {"README.md", CHECKSUMS_NAME}
    files = {p.name: sha256_file(p) for p in sorted(Path(directory).iterdir())
             if p.is_file() and p.name not in skip and p.suffix != ".png"}
    files.update({ref: sha256_file(Path(directory) / ref) for ref in shared})
    registry = dict(load_registry())
    entry = {"files": files, "description": description}
    if how_to_get:
        entry["how_to_get"] = how_to_get
    registry[name] = entry
    atomic_write_text(REGISTRY_PATH, json.dumps(registry, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    _read_registry.cache_clear()
    return entry


def retire_model(name: str) -> None:
    """Remove a shipped model (its folder under ``pretrained/`` and its registry entry); refused while
    another shipped adapter builds on it."""
    import shutil

    registry = dict(load_registry())
    if name not in registry:
        raise ValueError(f"`name`={name!r} is not a shipped model; shipped: {sorted(registry)}")
    users = [other for other in registry if other != name
             and (PRETRAINED_DIR / other / "adapter_config.json").is_file()
             and json.loads((PRETRAINED_DIR / other / "adapter_config.json").read_text(encoding="utf-8"))
             .get("base_model") == name]
    if users:
        raise ValueError(f"{name} is the base of the shipped adapters {users}: retire or re-ship them first")
    readers = [other for other in registry if any(f.startswith(f"../{name}/") for f in registry[other].get("files", {}))]
    if readers:
        raise ValueError(f"the shipped models {readers} read files of {name}: re-ship them first")
    del registry[name]
    atomic_write_text(REGISTRY_PATH, json.dumps(registry, ensure_ascii=False, indent=2, sort_keys=True) + "\n")
    _read_registry.cache_clear()
    if (PRETRAINED_DIR / name).is_dir():
        shutil.rmtree(PRETRAINED_DIR / name)
