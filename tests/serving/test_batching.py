"""DynamicBatcher: batches close when every open connection waits, else after ``max_wait_ms``."""
import asyncio
import os

from roots_zh.serving import worker
from roots_zh.serving.batching import DynamicBatcher


def echo(items):
    return [x * 10 for x in items]


async def run_batcher(open_connections, n_requests, max_wait_ms):
    """Submit ``n_requests`` one-item requests at once; the results and the batch sizes."""
    sizes = []

    def handler(items):
        sizes.append(len(items))
        return echo(items)

    batcher = DynamicBatcher(handler, max_batch_size=32, max_wait_ms=max_wait_ms, open_connections=open_connections)
    await batcher.start()
    try:
        futures = [batcher.submit([i]) for i in range(n_requests)]
        results = await asyncio.wait_for(asyncio.gather(*futures), 30)  # a batch waiting an hour fails here
    finally:
        await batcher.drain(1)
    return results, sizes


def test_batch_goes_at_once_when_every_connection_waits():
    # max_wait is an hour: only the "everyone waits" rule can close these batches
    results, sizes = asyncio.run(run_batcher(lambda: 3, 3, max_wait_ms=3_600_000))
    assert results == [[0], [10], [20]]
    assert sizes == [3]  # all queued requests in one batch, not the first alone


def test_batch_waits_for_connections_that_have_not_sent():
    results, sizes = asyncio.run(run_batcher(lambda: 5, 3, max_wait_ms=50))
    assert results == [[0], [10], [20]]
    assert sizes == [3]  # closed by the timer, with everything that came


def test_without_a_connection_count_the_timer_closes_batches():
    results, sizes = asyncio.run(run_batcher(None, 4, max_wait_ms=50))
    assert results == [[0], [10], [20], [30]]
    assert sizes == [4]


def test_model_process_environment_is_set_for_the_child_only(monkeypatch):
    seen = {}

    class FakeProcess:
        def __init__(self, target, args, name, daemon):
            pass

        def start(self):
            seen.update({k: os.environ.get(k) for k in worker.MODEL_PROCESS_ENV})

    class FakeContext:
        def Pipe(self):
            conn = type("Conn", (), {"close": lambda self: None, "poll": lambda self, t: False})
            return conn(), conn()

        def Process(self, **kwargs):
            return FakeProcess(**kwargs)

    monkeypatch.setattr(worker.mp, "get_context", lambda kind: FakeContext())
    for key in worker.MODEL_PROCESS_ENV:
        monkeypatch.delenv(key, raising=False)
    handler = worker.ProcessHandler("sentiment_analysis", start_timeout_s=0)
    monkeypatch.setattr(handler, "close", lambda timeout=10.0: None)
    try:
        handler.start()
    except worker.WorkerError:
        pass  # the fake child never reports ready
    assert seen == worker.MODEL_PROCESS_ENV
    assert all(key not in os.environ for key in worker.MODEL_PROCESS_ENV)  # the parent is unchanged
