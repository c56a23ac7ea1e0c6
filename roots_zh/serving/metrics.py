"""Service counters for ``/metrics``: requests by status, batches, queue depth, latency percentiles."""
from __future__ import annotations

import time
from collections import Counter, deque
from typing import Any, Deque, Dict

import numpy as np


class Metrics:
    def __init__(self, window: int = 10000) -> None:
        self.started = time.time()
        self.status: Counter = Counter()
        self.batches = 0
        self.batched_items = 0
        self.queue_depth = 0
        self.latencies_ms: Deque[float] = deque(maxlen=window)

    def record_response(self, status: int, latency_s: float) -> None:
        self.status[status] += 1
        if status == 200:
            self.latencies_ms.append(latency_s * 1000.0)

    def record_batch(self, size: int) -> None:
        self.batches += 1
        self.batched_items += size

    def snapshot(self) -> Dict[str, Any]:
        lat = np.asarray(self.latencies_ms) if self.latencies_ms else None
        return {
            "uptime_s": round(time.time() - self.started, 1),
            "requests_total": int(sum(self.status.values())),
            "responses_by_status": {str(k): v for k, v in sorted(self.status.items())},
            "batches_total": self.batches,
            "mean_batch_size": round(self.batched_items / self.batches, 2) if self.batches else 0.0,
            "queue_depth": self.queue_depth,
            "latency_ms_p50": round(float(np.percentile(lat, 50)), 2) if lat is not None else None,
            "latency_ms_p99": round(float(np.percentile(lat, 99)), 2) if lat is not None else None,
        }
