"""MKL's fast path on AMD CPUs: the vendor shim is built, bound before MKL's first call, and exact."""
import ctypes
import os
import subprocess
import sys

import numpy as np
import pytest

from roots_zh.utils import cpu_blas

AMD = cpu_blas.cpu_vendor() == "AuthenticAMD"


def _run(code: str, **env) -> str:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**os.environ, **env})
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def test_opt_out_leaves_mkl_alone():
    status = _run("from roots_zh.utils.cpu_blas import enable_fast_path as e, mkl_fast_path_status as s; e(); print(s())",
                  ROOTS_MKL_FAST_PATH="0")
    assert status == "off (ROOTS_MKL_FAST_PATH=0)"


@pytest.mark.skipif(not AMD, reason="the shim is only loaded on AMD CPUs")
def test_shim_is_built_once_and_bound_globally(tmp_path):
    code = ("import ctypes; from roots_zh.utils.cpu_blas import enable_fast_path as e, mkl_fast_path_status as s; "
            "e(); print(s()); print(ctypes.CDLL(None).mkl_serv_intel_cpu_true())")
    status, answer = _run(code, ROOTS_HOME=str(tmp_path)).splitlines()[-2:]
    built = list((tmp_path / "native").glob("mkl_vendor_shim-*.so"))
    assert status.startswith("shim loaded") and len(built) == 1 and str(built[0]) in status
    assert answer == "1"  # the global symbol MKL binds to when Paddle first loads it
    mtime = built[0].stat().st_mtime_ns
    _run(code, ROOTS_HOME=str(tmp_path))
    assert built[0].stat().st_mtime_ns == mtime  # reused, not rebuilt


def test_paddle_matmul_on_the_fast_path_matches_float64():
    """Whatever path MKL takes here, paddle.matmul stays within fp32 rounding of a float64 product."""
    paddle = pytest.importorskip("paddle")
    cpu_blas.enable_fast_path()  # as tools and model builds do, before the first BLAS call
    rng = np.random.default_rng(0)
    for m, k, n in ((300, 500, 200), (4096, 256, 1024), (7, 1024, 33)):
        a, b = rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32)
        got = paddle.matmul(paddle.to_tensor(a), paddle.to_tensor(b)).numpy()
        ref = a.astype(np.float64) @ b.astype(np.float64)
        assert np.abs(got - ref).max() <= 1e-5 * np.sqrt(k) * np.abs(ref).max()
    if AMD:
        assert cpu_blas.mkl_fast_path_status().startswith("shim loaded")


def test_vendor_is_read_from_cpuinfo():
    vendor = cpu_blas.cpu_vendor()
    assert vendor == "" or vendor.isalnum()


@pytest.mark.skipif(not AMD, reason="the shim is only loaded on AMD CPUs")
def test_setting_threads_first_is_caught_and_set_cpu_threads_keeps_the_order(tmp_path):
    """MKL binds its vendor check when it loads, and Paddle's thread call loads it: a shim loaded after that
    is never asked. That order is reported (not claimed as loaded); ``set_cpu_threads`` loads the shim first."""
    late = _run("import paddle; paddle.base.core.set_num_threads(1); "
                "from roots_zh.utils.cpu_blas import enable_fast_path as e; print(e())", ROOTS_HOME=str(tmp_path))
    assert late.splitlines()[-1] == "too late (MKL was loaded before the shim)"
    first = _run("from roots_zh.utils.env import set_cpu_threads; set_cpu_threads(1); "
                 "from roots_zh.utils.cpu_blas import mkl_fast_path_status as s, mkl_loaded; print(s(), mkl_loaded())",
                 ROOTS_HOME=str(tmp_path))
    assert first.splitlines()[-1].startswith("shim loaded") and first.endswith("True")


@pytest.mark.skipif(not AMD, reason="the shim is only built on AMD CPUs")
def test_unwritable_cache_falls_back_without_failing_the_import(tmp_path):
    blocker = tmp_path / "not_a_dir"
    blocker.write_text("x")
    status = _run("from roots_zh.utils.cpu_blas import enable_fast_path as e, mkl_fast_path_status as s; e(); print(s())",
                  ROOTS_HOME=str(blocker))
    assert status.splitlines()[-1].startswith("MKL_DEBUG_CPU_TYPE=5 (shim not built")


def test_import_changes_nothing_in_the_process(tmp_path):
    """``import roots_zh`` writes no compiled file, sets no MKL variable and loads no shim; the fast
    path comes at first real use (building a model)."""
    code = ("import json, os; before = dict(os.environ); import roots_zh; "
            "from roots_zh.utils.cpu_blas import mkl_fast_path_status as s; "
            "maps = open('/proc/self/maps').read() if os.path.exists('/proc/self/maps') else ''; "
            "print(json.dumps({'env': sorted(k for k in os.environ if os.environ.get(k) != before.get(k)), "
            "'status': s(), 'shim': 'mkl_vendor_shim' in maps}))")
    env = {k: v for k, v in os.environ.items() if not k.startswith("MKL_")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         env={**env, "ROOTS_HOME": str(tmp_path)})
    assert out.returncode == 0, out.stderr[-2000:]
    import json

    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got == {"env": [], "status": "not run", "shim": False}
    assert not any(tmp_path.iterdir())  # nothing compiled or cached under $ROOTS_HOME
    if AMD:
        built = _run("from roots_zh.modeling import RootsConfig, RootsModel; "
                     "from roots_zh.utils.cpu_blas import mkl_fast_path_status as s; "
                     "RootsModel(RootsConfig(vocab_size=64, hidden_size=32, num_hidden_layers=1, "
                     "num_attention_heads=2, intermediate_size=64)); print(s())", ROOTS_HOME=str(tmp_path))
        assert built.splitlines()[-1].startswith("shim loaded")  # applied at first real use
