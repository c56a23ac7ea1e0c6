"""Shared helpers for benchmark sub-commands and tools: data paths, corpus sampling, results."""
from __future__ import annotations

import gzip
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:  # tools run from a checkout without `pip install -e .`
    sys.path.insert(0, str(REPO_ROOT))

from roots_zh.utils.cpu_blas import enable_fast_path  # noqa: E402

enable_fast_path()  # MKL's fast path must be chosen before any BLAS call (utils/cpu_blas.py)

RESULTS_DIR = REPO_ROOT / "benchmarks" / "results"


class BaselineSkipped(RuntimeError):
    """A baseline that cannot run here (e.g. an optional package is missing); the message says why."""


def data_dir(override: Optional[str] = None) -> Path:
    """Shared data root: ``override``, ``$ROOTS_DATA_DIR`` or ``<repo>/../shared/data``."""
    from roots_zh.utils.env import shared_data_root

    path = Path(override) if override else shared_data_root()
    if not path.is_dir():
        raise FileNotFoundError(f"shared data directory {path} not found (set --data-dir or ROOTS_DATA_DIR)")
    return path


def corpus_files(root: Optional[Path] = None) -> List[Path]:
    """The pretraining corpus files (``corpus/*.txt.gz``), sorted by name."""
    files = sorted((root or data_dir()).joinpath("corpus").glob("*.txt.gz"))
    if not files:
        raise FileNotFoundError(f"no corpus/*.txt.gz under {root or data_dir()}")
    return files


def iter_lines(path: Path) -> Iterator[str]:
    """Lines of a (gzipped) text file without the trailing newline."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as fh:
        for line in fh:
            yield line.rstrip("\n")


def sample_corpus_lines(n: int, root: Optional[Path] = None, step: int = 5, skip: int = 1000) -> List[str]:
    """About ``n`` real lines mixed evenly over all corpus files (every ``step``-th line after
    ``skip`` lines of each file; cheap: only the head of each file is read)."""
    files = corpus_files(root)
    per_file = -(-n // len(files))
    out: List[str] = []
    reserve: List[str] = []
    for path in files:
        head = list(itertools.islice(iter_lines(path), skip + 2 * per_file * step))
        got = head[skip::step]
        if len(got) < per_file:  # short file: take from its start as well
            got += head[:skip][: per_file - len(got)]
        out.extend(got[:per_file])
        reserve.extend(got[per_file:])  # makes up for short files
    out += reserve[: max(0, n - len(out))]
    return out[:n]


def environment() -> Dict[str, Any]:
    from roots_zh.utils.cpu_blas import cpu_vendor, mkl_fast_path_status

    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_vendor": cpu_vendor(),
        "mkl_fast_path": mkl_fast_path_status(),
        "cpu_count": os.cpu_count(),
        "load_avg_1m": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
    }


def write_result(name: str, payload: Dict[str, Any], results_dir: Path = RESULTS_DIR) -> Path:
    """Write ``payload`` (+ environment) as ``benchmarks/results/<name>.json`` atomically."""
    from roots_zh.utils.files import atomic_write_text

    if payload.get("quick") and not name.endswith("_quick"):  # quick runs never overwrite full figures
        name += "_quick"
    body = {"benchmark": name, "environment": environment(), **payload}
    path = results_dir / f"{name}.json"
    atomic_write_text(path, json.dumps(body, ensure_ascii=False, indent=2) + "\n")
    return path


def run_context(result: Dict[str, Any]) -> str:
    """``2026-11-22, x86_64, 2 CPU cores, load avg 3.7 (*shared*)`` from a result's environment record.

    A 1-minute load above the core count marks the run *shared*: another job held cores, so absolute
    rates are low while ratios inside the run stay like for like."""
    env = result.get("environment") or {}
    parts = [str(env["time"])[:10]] if env.get("time") else []
    if env.get("machine"):
        parts.append(str(env["machine"]))
    cpus, load = env.get("cpu_count"), env.get("load_avg_1m")
    if cpus:
        parts.append(f"{cpus} CPU cores")
    if load is not None:
        parts.append(f"load avg {load:.1f}" + (" (*shared*)" if cpus and load > cpus else ""))
    return ", ".join(parts) or "date and machine not recorded"


def missing_section(title: str, filename: str, command: str) -> str:
    """The BENCHMARKS.md section body when its results file is absent: which command writes it."""
    return (f"## {title}\n\nNo results yet: `benchmarks/results/{filename}` is missing; "
            f"`{command}` writes it.")


def format_table(rows: Sequence[Dict[str, Any]], columns: Sequence[str]) -> str:
    """Plain-text table of ``rows`` (dicts) with the given columns."""

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:,.2f}" if abs(v) < 100 else f"{v:,.0f}"
        if isinstance(v, int):
            return f"{v:,}"
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) if cells else len(c) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.rjust(w) if i else v.ljust(w) for i, (v, w) in enumerate(zip(row, widths))) for row in cells]
    return "\n".join(lines)
