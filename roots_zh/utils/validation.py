"""Input checks shared by tokenizers and pipelines: one place, one message shape."""
from __future__ import annotations

from typing import Any, List, Sequence, Union

TextInput = Union[str, Sequence[str]]


def check_text(value: Any, field: str = "text", allow_empty: bool = True) -> str:
    """Return ``value`` if it is a str; raise a ``ValueError``/``TypeError`` naming ``field``."""
    if value is None:
        raise ValueError(f"`{field}` is None; expected a str")
    if not isinstance(value, str):
        raise TypeError(f"`{field}` must be a str, got {type(value).__name__}")
    if not allow_empty and not value.strip():
        raise ValueError(f"`{field}` is empty or whitespace only")
    return value


def check_texts(value: Any, field: str = "texts") -> tuple[List[str], bool]:
    """Normalise a str or a list/tuple of str to ``(list, was_single)``; clear errors otherwise."""
    if isinstance(value, str):
        return [value], True
    if value is None:
        raise ValueError(f"`{field}` is None; expected a str or a list of str")
    if not isinstance(value, (list, tuple)):
        raise TypeError(f"`{field}` must be a str or a list of str, got {type(value).__name__}")
    for i, item in enumerate(value):
        check_text(item, f"{field}[{i}]")
    return list(value), False


def check_choice(value: Any, field: str, choices: Sequence[Any]) -> Any:
    if value not in choices:
        raise ValueError(f"`{field}`={value!r} is not valid; choose one of {list(choices)}")
    return value


def check_positive_int(value: Any, field: str, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"`{field}` must be a positive int, got {value!r}")
    return value
