"""PEP 562 lazy attributes: a package lists ``{public name: defining module}`` and pays for an
import only when the name is first used."""
from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List, Tuple


def lazy_attributes(package: str, names: Dict[str, str], namespace: Dict[str, Any],
                    extra: Tuple[str, ...] = ()) -> Tuple[Callable[[str], Any], Callable[[], List[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package``; resolved names are cached in ``namespace``."""
    public = sorted(names) + list(extra)

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> List[str]:
        return public

    return __getattr__, __dir__
