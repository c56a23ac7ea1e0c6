"""`roots-zh` command line: one-line Chinese NLP tasks on the shipped models (thin over Taskflow).

    roots-zh sentiment_analysis "这家酒店服务很好"
    roots-zh ner --input file.txt --batch-size 64          # one text per line, JSON lines out
    roots-zh question_answering '{"question": "…", "context": "…"}'
    roots-zh word_segmentation "结巴分词很好用" --mode search
    roots-zh serve --task sentiment_analysis --port 8000
    roots-zh tasks                                          # list the tasks and their usage
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any, List, Optional

from .hub.tasks import TASKS
from .utils.env import BACKENDS
from .utils.logs import log_to_stderr


def _parse_line(task: str, line: str) -> Any:
    kind = TASKS[task].input_kind
    if kind == "text":
        return line
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        value = None
    if kind == "qa" and isinstance(value, dict):
        return value
    if kind == "pair" and isinstance(value, list) and len(value) == 2:
        return value
    if kind == "pair" and "\t" in line:
        return line.split("\t", 1)
    raise SystemExit(f"{task} needs "
                     + ('a JSON {"question": …, "context": …}' if kind == "qa" else "a JSON [text, text] pair or "
                        "two texts separated by a tab") + f"; got {line[:80]!r}")


def _read_inputs(ns) -> List[Any]:
    if ns.input:
        try:
            with open(ns.input, encoding="utf-8") as fh:
                lines = [line.rstrip("\n") for line in fh if line.strip()]
        except (OSError, UnicodeDecodeError) as err:
            raise SystemExit(f"cannot read --input {ns.input}: {err}") from None
    elif ns.text is not None:
        lines = [ns.text]
    else:
        raise SystemExit("give a text or --input FILE")
    return [_parse_line(ns.task, line) for line in lines]


def _run_task(ns) -> int:
    from tqdm import tqdm

    from .taskflow import Taskflow

    kwargs = {}
    if ns.task == "word_segmentation":
        kwargs["mode"] = ns.mode
    if ns.task == "fill_mask":
        kwargs["top_k"] = ns.top_k
    flow = Taskflow(ns.task, model=ns.model, batch_size=ns.batch_size, backend=ns.backend, **kwargs)
    inputs = _read_inputs(ns)
    chunk = max(ns.batch_size, 1) * 8
    with tqdm(total=len(inputs), desc=ns.task, disable=len(inputs) <= chunk, file=sys.stderr) as bar:
        for start in range(0, len(inputs), chunk):
            for row in flow(inputs[start:start + chunk]):
                print(json.dumps(row, ensure_ascii=False))
            bar.update(min(chunk, len(inputs) - start))
    return 0


def _serve(argv: List[str]) -> int:
    from .serving import add_arguments, run_from_args

    log_to_stderr()
    parser = add_arguments(argparse.ArgumentParser(prog="roots-zh serve", description="HTTP JSON service "
                                                   "with dynamic batching (/predict, /health, /metrics)"))
    return run_from_args(parser.parse_args(argv))


def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["serve"]:
        return _serve(argv[1:])
    if argv[:1] == ["tasks"]:
        for name, spec in sorted(TASKS.items()):
            print(f"{name:20s} default model: {spec.default_model or '(jieba)'}\n    {spec.usage}")
        return 0
    parser = argparse.ArgumentParser(prog="roots-zh", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task", choices=sorted(TASKS))
    parser.add_argument("text", nargs="?")
    parser.add_argument("--input", help="a UTF-8 file, one input per line")
    parser.add_argument("--model", help="registered name or directory (default: the task's shipped model)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--backend", default=None, choices=BACKENDS,
                        help="default: Paddle Inference for word_segmentation --mode accurate|fast, else dygraph")
    parser.add_argument("--mode", default="precise", help="word_segmentation: precise, search, all (jieba), "
                        "accurate or fast (neural)")
    parser.add_argument("--top-k", type=int, default=5, help="fill_mask: predictions per mask")
    ns = parser.parse_args(argv)
    try:
        return _run_task(ns)
    except (ValueError, TypeError, FileNotFoundError) as err:
        print(f"roots-zh {ns.task}: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
