"""HTTP service: loopback load test, limits, overload -> 429, graceful drain, kill + restart.

Only 127.0.0.1; every request has a client timeout and every run a bounded request count.
"""
import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import numpy as np
import pytest

paddle = pytest.importorskip("paddle")
httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
uvicorn = pytest.importorskip("uvicorn")

from tests.conftest import REPO_ROOT, shared_data  # noqa: E402
from roots_zh.data.readers import load_classification_set  # noqa: E402
from roots_zh.modeling import RootsConfig, RootsForSequenceClassification  # noqa: E402
from roots_zh.pipelines.text_classification import TextClassifier  # noqa: E402
from roots_zh.serving import ServerSettings, create_app  # noqa: E402
from roots_zh.serving.loadgen import run_load  # noqa: E402
from roots_zh.tokenization.auto import AutoTokenizer  # noqa: E402

LABELS = {0: "负面", 1: "正面"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def texts():
    examples, _ = load_classification_set(shared_data(), "chnsenticorp", "dev")
    return [e.text[:200] for e in examples[:64]]


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    tokenizer = AutoTokenizer.from_pretrained(REPO_ROOT / "pretrained" / "roots-base")
    paddle.seed(3)
    cfg = RootsConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, num_labels=2, id2label=LABELS)
    return TextClassifier(RootsForSequenceClassification(cfg), tokenizer).export(tmp_path_factory.mktemp("srv") / "m")


@pytest.fixture(scope="module")
def expected(exported, texts):
    clf = TextClassifier.from_pretrained(exported, backend="inference", threads=1)
    return {t: r["label"] for t, r in zip(texts, clf.predict(texts))}


def start_server(model_dir, port, *extra):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "GLOG_minloglevel": "2"}
    err = tempfile.TemporaryFile()
    proc = subprocess.Popen([sys.executable, "-m", "roots_zh.serving", "--model", str(model_dir), "--backend",
                             "inference", "--port", str(port), "--threads", "1", *extra],
                            env=env, stdout=subprocess.DEVNULL, stderr=err)
    proc.err_file = err
    deadline = time.time() + 90
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {stderr_of(proc)[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("server did not come up in 90 s")


def stderr_of(proc) -> str:
    """The server's stderr (a temp file, so a chatty server never blocks on a full pipe)."""
    proc.err_file.seek(0)
    return proc.err_file.read().decode(errors="replace")


def stop(proc, sig=signal.SIGTERM):
    if proc.poll() is None:
        proc.send_signal(sig)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


async def _load(url, bodies, concurrency, timeout=30.0):
    """POST every body with ``concurrency`` clients; returns (status, latency_s, json or None) per request."""
    results = [None] * len(bodies)
    next_index = iter(range(len(bodies)))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(timeout=timeout, limits=limits) as client:
        async def worker():
            for i in next_index:
                start = time.perf_counter()
                try:
                    r = await client.post(url, json=bodies[i])
                    try:
                        body = r.json()
                    except ValueError:
                        body = None
                    results[i] = (r.status_code, time.perf_counter() - start, body)
                except httpx.HTTPError as exc:
                    results[i] = (type(exc).__name__, time.perf_counter() - start, None)

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


def load(url, bodies, concurrency):
    return asyncio.run(_load(url, bodies, concurrency))


def run_load_test(exported, texts, expected, n_requests, concurrency):
    port = free_port()
    proc = start_server(exported, port, "--max-batch-size", "32", "--max-wait-ms", "5")
    try:
        rng = np.random.default_rng(0)
        bodies = [{"text": texts[i]} if i % 4 else {"texts": [texts[i], texts[(i + 1) % len(texts)]]}
                  for i in rng.integers(0, len(texts), n_requests)]
        start = time.perf_counter()
        results = load(f"http://127.0.0.1:{port}/predict", bodies, concurrency)
        elapsed = time.perf_counter() - start
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).json()
    finally:
        stop(proc)
    malformed = 0
    for body, (status, _, reply) in zip(bodies, results):
        sent = [body["text"]] if "text" in body else body["texts"]
        got = [reply["result"]] if reply and "result" in reply else (reply or {}).get("results", [])
        ok = status == 200 and len(got) == len(sent) and all(
            g["text"] == t and g["label"] == expected[t] and 0.0 <= g["score"] <= 1.0 for g, t in zip(got, sent))
        malformed += not ok
    lat = np.array([r[1] for r in results]) * 1000
    stats = {"requests": n_requests, "clients": concurrency, "rps": n_requests / elapsed,
             "p50_ms": float(np.percentile(lat, 50)), "p99_ms": float(np.percentile(lat, 99)),
             "lost_or_malformed": malformed, "mean_batch_size": metrics["mean_batch_size"]}
    print("load test:", stats)
    assert malformed == 0
    assert metrics["responses_by_status"].get("200") == n_requests
    assert metrics["mean_batch_size"] > 1.0  # concurrent requests really were merged
    return stats


def test_load_short(exported, texts, expected):
    run_load_test(exported, texts, expected, n_requests=300, concurrency=16)


@pytest.mark.slow
def test_load_2000_requests_32_clients(exported, texts, expected):
    run_load_test(exported, texts, expected, n_requests=2000, concurrency=32)


def test_killed_server_restarts_and_serves(exported, texts, expected):
    port = free_port()
    url = f"http://127.0.0.1:{port}/predict"
    proc = start_server(exported, port)
    try:
        assert httpx.post(url, json={"text": texts[0]}, timeout=30).json()["result"]["label"] == expected[texts[0]]
    finally:
        stop(proc, signal.SIGKILL)
    with pytest.raises(httpx.HTTPError):
        httpx.post(url, json={"text": texts[0]}, timeout=5)
    proc = start_server(exported, port)
    try:
        reply = httpx.post(url, json={"texts": texts[:3]}, timeout=30).json()
        assert [r["label"] for r in reply["results"]] == [expected[t] for t in texts[:3]]
    finally:
        stop(proc)
    # uvicorn re-raises the captured SIGTERM after its graceful shutdown: exit by signal, no traceback
    assert proc.returncode == -signal.SIGTERM
    assert "Traceback" not in stderr_of(proc)


class InProcessServer:
    """uvicorn in a thread around ``create_app(handler)``; ``stop()`` is what SIGTERM triggers."""

    def __init__(self, handler, settings):
        self.port = free_port()
        config = uvicorn.Config(create_app(handler, settings), host="127.0.0.1", port=self.port, log_level="error")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started and time.time() < deadline:
            time.sleep(0.05)
        assert self.server.started
        return self

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=30)

    def __exit__(self, *exc):
        self.stop()


def slow_handler(items):
    time.sleep(0.05)
    return [{"text": t, "length": len(t)} for t in items]


def test_overload_answers_429_not_crash():
    settings = ServerSettings(max_batch_size=2, max_wait_ms=1, max_queue=4)
    with InProcessServer(slow_handler, settings) as srv:
        url = f"http://127.0.0.1:{srv.port}/predict"
        results = load(url, [{"text": f"句子{i}"} for i in range(64)], concurrency=64)
        statuses = [r[0] for r in results]
        assert set(statuses) <= {200, 429}, statuses
        assert statuses.count(429) > 0 and statuses.count(200) >= 4
        for (status, _, body), i in zip(results, range(64)):
            if status == 200:
                assert body["result"] == {"text": f"句子{i}", "length": len(f"句子{i}")}
            else:
                assert "busy" in body["error"]
        # still healthy and serving afterwards
        assert httpx.get(f"http://127.0.0.1:{srv.port}/health", timeout=5).json()["status"] == "ok"
        assert httpx.post(url, json={"text": "好"}, timeout=10).status_code == 200
        metrics = httpx.get(f"http://127.0.0.1:{srv.port}/metrics", timeout=5).json()
        assert metrics["responses_by_status"]["429"] == statuses.count(429)


def test_limits_and_malformed_requests():
    settings = ServerSettings(max_body_bytes=2000, max_texts=4, max_chars=50)
    with InProcessServer(slow_handler, settings) as srv:
        url = f"http://127.0.0.1:{srv.port}/predict"
        post = lambda **kw: httpx.post(url, timeout=10, **kw)  # noqa: E731
        assert post(content=b"x" * 3000).status_code == 413
        assert post(json={"texts": ["a"] * 5}).status_code == 413
        assert post(json={"text": "长" * 51}).status_code == 413
        assert post(content=b"{not json").status_code == 422
        assert post(json={"txt": "a"}).status_code == 422
        assert post(json={"text": "a", "texts": ["b"]}).status_code == 422
        assert post(json={"texts": [1, 2]}).status_code == 422
        assert post(json={"texts": []}).status_code == 422
        assert post(json={"texts": ["a", "bb"]}).json()["results"][1]["length"] == 2


def test_graceful_shutdown_finishes_in_flight_requests():
    settings = ServerSettings(max_batch_size=1, max_wait_ms=0, max_queue=64)
    srv = InProcessServer(slow_handler, settings).__enter__()
    url = f"http://127.0.0.1:{srv.port}/predict"
    box = {}
    client = threading.Thread(target=lambda: box.update(r=load(url, [{"text": str(i)} for i in range(8)], 8)))
    client.start()
    time.sleep(0.15)  # requests accepted and queued (8 x 50 ms of work)
    srv.stop()
    client.join(timeout=30)
    statuses = [r[0] for r in box["r"]]
    assert statuses.count(200) == 8, statuses  # none of the accepted requests was dropped
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{srv.port}/health", timeout=2)


SLOW_SERVER = """
import sys, time, uvicorn
from roots_zh.serving import ServerSettings, create_app
def slow(items):  # ~40 items/s at 2 items per 50 ms batch
    time.sleep(0.05)
    return [{"text": t, "length": len(t)} for t in items]
settings = ServerSettings(max_batch_size=2, max_wait_ms=1, request_timeout_s=float(sys.argv[2]))
uvicorn.run(create_app(slow, settings), host="127.0.0.1", port=int(sys.argv[1]), log_level="error")
"""


def test_flood_every_request_answered_within_timeout():
    """300 clients at once on a ~40 items/s handler (its own process) with a 1 s timeout: every
    request gets an HTTP status (200, or 429/503 with Retry-After) and the answered ones stay within
    the timeout (client-measured, generous margin for a busy CPU)."""
    timeout_s, port = 1.0, free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-c", SLOW_SERVER, str(port), str(timeout_s)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                assert time.time() < deadline and proc.poll() is None, "flood server did not start"
                time.sleep(0.2)
        texts = [f"句子{i}" for i in range(300)]
        # the lean loopback client: an httpx client with 300 connections adds seconds of its own
        outcomes = run_load(port, texts, 300, 300, time_limit_s=60, timeout_s=timeout_s + 20).outcomes
        outcomes += run_load(port, texts, 300, 300, 60, timeout_s + 20).outcomes  # admission knows the rate now
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).json()
    finally:
        stop(proc)
    statuses = [o.status for o in outcomes]
    assert set(statuses) <= {200, 429, 503}, sorted(set(map(str, statuses)))  # no request without an answer
    assert statuses.count(200) >= 20 and statuses.count(429) > 0
    assert all(o.retry_after for o in outcomes if o.status in (429, 503))
    assert all(o.ok_body for o in outcomes if o.status == 200)
    answered = np.array([o.latency_s for o in outcomes if o.status == 200])
    assert np.percentile(answered, 99) < timeout_s + 3.0
    assert metrics["latency_ms_p99"] <= timeout_s * 1000 + 200  # server side: the timeout holds
    assert metrics["items_per_s_estimate"] and metrics["queue_limit_items"] >= 2


def test_admission_limits_follow_throughput():
    from roots_zh.serving.admission import Admission

    adm = Admission(request_timeout_s=2.0, max_batch_size=32, max_queue=1000, headroom=0.5)
    assert adm.queue_limit() is None and adm.refuse(10_000, 10, 1) is None  # unknown rate: max_queue only
    assert adm.refuse(0, 1000, 1).startswith("1000 requests queued")
    adm.calibrate(100.0)
    assert adm.queue_limit() == 100  # 100 items/s x 2 s x 0.5
    assert adm.refuse(99, 5, 1) is None and "items queued" in adm.refuse(100, 5, 1)
    assert adm.retry_after(250) == 2  # capped at the timeout
    adm.record(2, 1.0)  # a near-empty batch says little about capacity
    assert adm.items_per_s == 100.0
    adm.record(32, 0.1)
    assert 100.0 < adm.items_per_s < 320.0
    with pytest.raises(ValueError, match="items_per_s"):
        adm.calibrate(0)


def test_task_without_inference_falls_back_to_dygraph(caplog, monkeypatch):
    import roots_zh.taskflow as taskflow
    from roots_zh.serving.tasks import build_handler

    pytest.importorskip("jieba")
    real = taskflow.Taskflow

    def no_inference(task, backend="dygraph", **kw):
        if backend == "inference":
            raise ValueError(f"`backend`={backend!r} is not available for {task} yet; use backend='dygraph'")
        return real(task, backend=backend, **kw)

    monkeypatch.setattr(taskflow, "Taskflow", no_inference)
    with caplog.at_level("WARNING"):
        handle = build_handler("word_segmentation", None, backend="inference")
    assert handle.info["backend"] == "dygraph"
    assert "serving with dygraph" in caplog.text and "not available for word_segmentation" in caplog.text
    assert handle(["结巴中文分词"])[0]["words"]
    with pytest.raises(ValueError, match="backend"):
        build_handler("sentiment_analysis", None, backend="tensorrt")


def test_precision_reaches_paddle_inference_pipelines_only():
    from roots_zh.serving.tasks import _pipeline_options

    for task in ("sentiment_analysis", "ner", "translation", "summarization", "fill_mask"):
        assert _pipeline_options(task, "inference", 128, 2, "bf16")["precision"] == "bf16", task
        for backend in ("onnx", "dygraph"):
            assert "precision" not in _pipeline_options(task, backend, 128, 2, "bf16"), (task, backend)
