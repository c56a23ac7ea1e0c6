"""Fast MKL on AMD CPUs: Paddle's CPU wheel does its dygraph matmuls with Intel MKL, which picks a
generic code path on non-Intel CPUs. On this project's AMD EPYC (AVX-512) ``paddle.matmul`` ran at
31 GFLOP/s per core by default and 163 with MKL's vendor check answered "Intel" (pretraining 1.9x
faster); the results agree with numpy to fp32 rounding.

``enable_fast_path()`` runs at first real use, not at ``import roots_zh`` (which changes nothing in
the process): when a ROOTS model or a ``Predictor`` is built, or when a tool calls it before its first
BLAS call (``tools/bench``). On an AMD x86-64 Linux CPU it loads the
one-function shim ``mkl_vendor_shim.c`` (compiled once into ``$ROOTS_HOME/native`` with the system C
compiler) with ``RTLD_GLOBAL``, so MKL binds to it when Paddle first loads MKL (at the first BLAS call,
not at ``import paddle``). Without a C compiler it falls back to ``MKL_DEBUG_CPU_TYPE=5`` (older MKL
builds: 93 GFLOP/s). Set ``ROOTS_MKL_FAST_PATH=0`` to leave MKL alone.
"""
from __future__ import annotations

import ctypes
import hashlib
import logging
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

from .env import roots_home

logger = logging.getLogger(__name__)

SHIM_SOURCE = Path(__file__).with_name("mkl_vendor_shim.c")
_STATUS: Optional[str] = None  # what enable_mkl_fast_path did in this process


def cpu_vendor() -> str:
    """``GenuineIntel``, ``AuthenticAMD``, … from /proc/cpuinfo ('' where there is none)."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("vendor_id"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _compiled_shim() -> Optional[Path]:
    """The shim as a shared library in ``$ROOTS_HOME/native`` (built once, atomically); None without a compiler."""
    source = SHIM_SOURCE.read_bytes()
    target = roots_home() / "native" / f"mkl_vendor_shim-{hashlib.sha256(source).hexdigest()[:12]}.so"
    if target.is_file():
        return target
    compiler = os.environ.get("CC") or shutil.which("cc") or shutil.which("gcc")
    if not compiler:
        return None
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
    os.close(fd)
    try:
        subprocess.run([compiler, "-shared", "-fPIC", "-O2", "-o", tmp, str(SHIM_SOURCE)],
                       check=True, capture_output=True, timeout=60)
        os.replace(tmp, target)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("could not compile %s: %s", SHIM_SOURCE, exc)
        return None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return target


def mkl_loaded() -> bool:
    """Whether Paddle's MKL is already mapped into this process (it loads at the first BLAS or thread call)."""
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as handle:
            return any("libmklml" in line for line in handle)
    except OSError:
        return False


def enable_fast_path() -> str:
    """Make MKL use its fast kernels on AMD CPUs (once per process; call it before Paddle's first BLAS
    call); returns what was done (also in ``mkl_fast_path_status()``)."""
    global _STATUS
    if _STATUS is None:
        _STATUS = _enable()
        logger.debug("MKL fast path: %s", _STATUS)
    return _STATUS


def _enable() -> str:
    if os.environ.get("ROOTS_MKL_FAST_PATH", "1") == "0":
        return "off (ROOTS_MKL_FAST_PATH=0)"
    if not sys.platform.startswith("linux") or platform.machine() not in ("x86_64", "AMD64"):
        return "not needed (not x86-64 Linux)"
    vendor = cpu_vendor()
    if vendor != "AuthenticAMD":
        return f"not needed (CPU vendor {vendor or 'unknown'})"
    if mkl_loaded():  # MKL binds its vendor check when it loads: a shim loaded later is never asked
        logger.warning("MKL was loaded before the ROOTS vendor shim (e.g. paddle.base.core.set_num_threads ran "
                       "first), so Paddle's matmuls stay on MKL's slow generic path on this AMD CPU; build the "
                       "model (or call roots_zh.utils.env.set_cpu_threads) before setting Paddle's threads")
        return "too late (MKL was loaded before the shim)"
    try:
        shim = _compiled_shim()
    except OSError as exc:  # e.g. a read-only $ROOTS_HOME: never fail a model build over speed
        logger.debug("no MKL vendor shim: %s", exc)
        shim = None
    if shim is not None:
        try:
            ctypes.CDLL(str(shim), mode=ctypes.RTLD_GLOBAL)
            return f"shim loaded ({shim})"
        except OSError as exc:
            logger.debug("could not load %s: %s", shim, exc)
    os.environ.setdefault("MKL_DEBUG_CPU_TYPE", "5")
    return "MKL_DEBUG_CPU_TYPE=5 (shim not built: no C compiler or no writable $ROOTS_HOME)"


enable_mkl_fast_path = enable_fast_path  # the former name


def mkl_fast_path_status() -> str:
    """What ``enable_fast_path`` did in this process ('not run' before it ran)."""
    return _STATUS or "not run"
