"""The library's logging, as HF transformers does it: the ``roots_zh`` logger passes WARNING and above
unless a command line (or the user, ``set_verbosity``) asks for more. Paddle's auto-parallel module sets
the *root* logger to INFO with a handler when it is imported (during an export or a Paddle Inference
start-up), which otherwise printed ROOTS's load-time INFO lines in every ``Taskflow`` call."""
from __future__ import annotations

import logging

LIBRARY_LOGGER = "roots_zh"
CLI_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def set_verbosity(level: int) -> None:
    """The least severe level the ``roots_zh`` loggers pass on (e.g. ``logging.INFO``)."""
    logging.getLogger(LIBRARY_LOGGER).setLevel(level)


def default_verbosity() -> None:
    """WARNING for the library logger, unless something set its level already (called at import)."""
    logger = logging.getLogger(LIBRARY_LOGGER)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)


def log_to_stderr(level: int = logging.INFO, fmt: str = CLI_FORMAT) -> None:
    """For command lines: a stderr handler on the root logger, and ``roots_zh`` passing ``level``."""
    logging.basicConfig(level=level, format=fmt)
    set_verbosity(level)
