"""Model files: registry lookup, local resolution and integrity checks. Knows files, not models."""
from .registry import (CHECKSUMS_NAME, load_registry, resolve_model_dir, verify_checksums,
                       write_checksums)

__all__ = ["CHECKSUMS_NAME", "load_registry", "resolve_model_dir", "verify_checksums", "write_checksums"]
