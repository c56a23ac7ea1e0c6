"""Package hygiene: cheap import, no paddlenlp in the import path, one-way imports between layers."""
import ast
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "roots_zh"
LEVELS = {"utils": 0, "hub": 1, "tokenization": 2, "modeling": 2, "data": 3, "inference": 3,
          "training": 4, "generation": 4, "pipelines": 5, "taskflow": 6, "recipes": 6, "serving": 7, "cli": 8, "knowledge": 4,
          "metrics": 1}


def test_import_is_lazy():
    code = ("import sys, roots_zh; print(sorted(m for m in ('paddle', 'paddlenlp', 'jieba', 'sentencepiece', "
            "'tokenizers') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", out.stdout


def test_public_names_resolve():
    import roots_zh

    for name in roots_zh.__all__:
        assert getattr(roots_zh, name) is not None, name


def _package_of(module_path: Path) -> str:
    rel = module_path.relative_to(PKG)
    return rel.parts[0].removesuffix(".py")


def _imported_packages(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    depth_here = len(path.relative_to(PKG).parts) - 1  # 0 for roots_zh/x.py, 1 for roots_zh/pkg/x.py
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                up = node.level - 1  # levels above the module's own package
                if up > depth_here:
                    continue
                parts = list(path.relative_to(PKG).parts[:-1])[:depth_here - up]
                target = parts + (node.module.split(".") if node.module else [])
                if target:
                    yield node.lineno, target[0]
                else:  # `from .. import x`
                    for alias in node.names:
                        yield node.lineno, alias.name
            elif node.module and node.module.startswith("roots_zh."):
                yield node.lineno, node.module.split(".")[1]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("roots_zh."):
                    yield node.lineno, alias.name.split(".")[1]


def test_imports_flow_downward():
    bad = []
    for path in PKG.rglob("*.py"):
        if path.parent == PKG and path.name == "__init__.py":
            continue
        source = _package_of(path)
        for lineno, target in _imported_packages(path):
            if target == source or target not in LEVELS or source not in LEVELS:
                continue
            if LEVELS[target] >= LEVELS[source]:
                bad.append(f"{path.relative_to(PKG)}:{lineno} imports {target} (level {LEVELS[target]}) "
                           f"from {source} (level {LEVELS[source]})")
    assert not bad, "\n".join(bad)


def test_library_logger_passes_warnings_only_until_a_command_line_asks_for_info():
    """Paddle sets the root logger to INFO on some imports; ROOTS's load-time INFO lines stay quiet
    unless a command line (``log_to_stderr``) or the user (``set_verbosity``) asks for them."""
    code = ("import logging, roots_zh; from roots_zh.utils.logs import log_to_stderr\n"
            "logging.basicConfig(level=logging.INFO)\n"
            "logging.getLogger('roots_zh.x').info('hidden-line'); print(logging.getLogger('roots_zh').level)\n"
            "log_to_stderr(); logging.getLogger('roots_zh.x').info('shown-line')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "30"
    assert "shown-line" in out.stderr and "hidden-line" not in out.stderr
