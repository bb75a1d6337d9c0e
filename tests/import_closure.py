"""The project files a stage module imports, transitively, found by reading the source (ast; nothing is executed).

Every ``import`` / ``from ... import`` anywhere in a file counts (functions' lazy imports too), relative imports
included; ``from pkg import name`` counts ``pkg/name.py`` when it is a submodule. Importing ``a.b.c`` runs
``a/__init__.py`` and ``a/b/__init__.py`` as well, so those are part of the closure. Only files of the project's
own packages (``dtgan``, ``stages``) are followed.

    python -m tests.import_closure stages/train_gan.py   # prints the deps to list, one per line
    python -m tests.import_closure --write               # rewrites every stage's code deps in dvc.yaml
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("dtgan", "stages")


def module_file(module: str, root: Path = ROOT) -> Path | None:
    """The file of a dotted module name inside the project, or None."""
    base = root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_of(path: Path, root: Path) -> str:
    name = module_name(path, root)
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Dotted names this file imports (absolute, resolved), including ``pkg.name`` candidates of from-imports."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(path, root).split(".")
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _with_parents(module: str) -> list[str]:
    parts = module.split(".")
    return [".".join(parts[: i + 1]) for i in range(len(parts))]


def closure(entry: Path, root: Path = ROOT) -> set[Path]:
    """Every project file that importing ``entry`` (as ``python -m``) executes, ``entry`` included."""
    seen: set[Path] = set()
    todo = [entry.resolve()]
    todo += [f for m in _with_parents(module_name(entry.resolve(), root))[:-1] if (f := module_file(m, root))]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_modules(path, root):
            if name.split(".")[0] not in PACKAGES:
                continue
            for module in _with_parents(name):
                found = module_file(module, root)
                if found is not None and found not in seen:
                    todo.append(found)
    return seen


def relative_files(paths: set[Path], root: Path = ROOT) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in paths)


def is_docstring_only(path: Path) -> bool:
    """A module whose body is at most a docstring (such a package ``__init__`` cannot change any output)."""
    body = ast.parse(path.read_text()).body
    return not body or (len(body) == 1 and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant))


def code_files(entry: Path, root: Path = ROOT) -> set[str]:
    """The closure without docstring-only package ``__init__`` files: what a stage's code deps must cover."""
    return {f for f, p in zip(relative_files(closure(entry, root), root), sorted(closure(entry, root)), strict=True)
            if not (p.name == "__init__.py" and is_docstring_only(p))}


def expand_dep(dep: str, root: Path = ROOT) -> set[str]:
    """The code files a dvc.yaml dep stands for: the file itself, or every module of a folder (docstring-only
    package ``__init__`` files left out, as in :func:`code_files`)."""
    path = root / dep
    if path.is_dir():
        return {q.relative_to(root).as_posix() for q in path.rglob("*.py")
                if not (q.name == "__init__.py" and is_docstring_only(q))}
    return {dep}


def suggested_deps(files: set[str], root: Path = ROOT) -> list[str]:
    """The shortest dep list covering exactly ``files``: a folder wherever all its modules are in ``files``."""
    out: list[str] = []
    covered: set[str] = set()
    for folder in sorted({Path(f).parent.as_posix() for f in files}, key=lambda d: (d.count("/"), d)):
        parts = Path(folder).parts
        if any(Path(*parts[:i]).as_posix() in out for i in range(1, len(parts) + 1)):
            continue
        if folder not in PACKAGES and expand_dep(folder, root) <= files:
            out.append(folder)
            covered |= expand_dep(folder, root)
    out += sorted(files - covered)
    return sorted(out)


def rewrite_dvc_yaml(path: Path, root: Path = ROOT) -> str:
    """dvc.yaml with every stage's code deps (the ``- dtgan/...`` / ``- stages/...`` lines of its ``deps:``)
    replaced by :func:`suggested_deps` of its module; everything else is kept as written."""
    out: list[str] = []
    module: Path | None = None
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if "python -m stages." in line:
            module = root / (line.split("python -m ", 1)[1].split()[0].replace(".", "/") + ".py")
        if line.strip() == "deps:" and module is not None:
            out.append(line)
            indent = lines[i + 1][: len(lines[i + 1]) - len(lines[i + 1].lstrip())]
            out += [f"{indent}- {d}" for d in suggested_deps(code_files(module, root), root)]
            i += 1
            while i < len(lines) and lines[i].strip().startswith("- ") and lines[i].strip()[2:].startswith(PACKAGES):
                i += 1
            continue
        out.append(line)
        i += 1
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    if sys.argv[1:2] == ["--write"]:
        target = ROOT / "dvc.yaml"
        target.write_text(rewrite_dvc_yaml(target))
        print(f"rewrote the code deps of {target}")
    for arg in sys.argv[1:]:
        if arg != "--write":
            print(f"# {arg}")
            print("\n".join(f"      - {d}" for d in suggested_deps(code_files(ROOT / arg))))
