"""Level-0 helpers: files, hashing, environment, lazy imports. No paddle import here."""
from .files import atomic_write_bytes, atomic_write_text, atomic_save, sha256_file
from .env import roots_home

__all__ = ["atomic_write_bytes", "atomic_write_text", "atomic_save", "sha256_file", "roots_home"]
