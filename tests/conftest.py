"""Shared test helpers: the read-only shared data root and small real-data samples."""
from __future__ import annotations

import gzip
import itertools
from pathlib import Path
from typing import List

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data() -> Path:
    """``<repo>/../shared/data`` (read-only real data); skips the calling test when absent."""
    path = REPO_ROOT.parent / "shared" / "data"
    if not path.is_dir():
        pytest.skip(f"shared data not found at {path}")
    return path


def corpus_lines(n: int, step: int = 3, skip: int = 500) -> List[str]:
    """About ``n`` real corpus lines, an equal share from each of the 13 files (only file heads
    are read, every ``step``-th line after ``skip``)."""
    files = sorted((shared_data() / "corpus").glob("*.txt.gz"))
    if not files:
        pytest.skip("no corpus files in shared data")
    per_file = -(-n // len(files))
    picks: List[List[str]] = []
    for path in files:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            head = [l.rstrip("\n") for l in itertools.islice(fh, skip + 2 * per_file * step)]
        picked = head[skip::step][:per_file]
        if len(picked) < per_file:  # short file (recipes has 398 lines): take its first lines too
            picked += head[:skip][: per_file - len(picked)]
        picks.append(picked)
        spare = head[skip + per_file * step :: step]
        picks.append(spare)  # reserve, used only to make up for short files
    chosen = [l for i, p in enumerate(picks) if i % 2 == 0 for l in p]
    reserve = [l for i, p in enumerate(picks) if i % 2 == 1 for l in p]
    return chosen + reserve[: max(0, n - len(chosen))]


@pytest.fixture(scope="session")
def shared_data_dir() -> Path:
    return shared_data()
