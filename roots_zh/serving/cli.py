"""Command line of the server: ``roots-zh serve`` (wired by roots_zh/cli.py) or ``python -m roots_zh.serving``."""
from __future__ import annotations

import argparse
from typing import Optional, Sequence

from ..inference.predictor import PRECISIONS
from ..utils.logs import log_to_stderr
from .app import ServerSettings, serve
from .tasks import BACKENDS, TASKS


CPU_PRECISIONS = PRECISIONS["cpu"]


def add_arguments(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    defaults = ServerSettings()
    parser.add_argument("--task", default="text_classification", choices=sorted(TASKS))
    parser.add_argument("--model", default=None, help="registered name or directory (default: the task's "
                        "shipped model)")
    parser.add_argument("--backend", default="inference", choices=BACKENDS,
                        help="inference (default): Paddle Inference on the export cached under $ROOTS_HOME/inference "
                        "(made once from --model; an exported directory is used as is); tasks without an "
                        "inference path fall back to dygraph with a logged reason")
    parser.add_argument("--precision", default="auto", choices=CPU_PRECISIONS,
                        help="Paddle Inference math: auto (default) is bf16 on a CPU with AVX512-BF16/AMX, else fp32")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--in-process", action="store_true",
                        help="run the model in a thread of the server process (default: its own process, so "
                        "the event loop never waits for the GIL)")
    parser.add_argument("--no-calibrate", dest="calibrate", action="store_false",
                        help="skip timing full batches at start-up (admission then learns from the first batches)")
    for name in ("max_batch_size", "max_wait_ms", "max_queue", "max_body_bytes", "max_texts", "max_chars",
                 "request_timeout_s", "shutdown_timeout_s", "max_connections", "backlog"):
        value = getattr(defaults, name)
        parser.add_argument("--" + name.replace("_", "-"), type=type(value), default=value)
    return parser


def run_from_args(args: argparse.Namespace) -> int:
    settings = ServerSettings(**{k: getattr(args, k) for k in ServerSettings.__dataclass_fields__})
    serve(args.task, args.model, args.host, args.port, settings, in_process=args.in_process,
          calibrate=args.calibrate, backend=args.backend, max_length=args.max_length, threads=args.threads,
          precision=args.precision)
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    log_to_stderr()
    parser = add_arguments(argparse.ArgumentParser(prog="roots-zh serve", description="HTTP JSON service"))
    return run_from_args(parser.parse_args(argv))
