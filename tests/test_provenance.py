"""The code fingerprint that persisted training checkpoints record (dtgan/provenance.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dtgan.provenance import code_fingerprint


def _package(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_fingerprint_follows_every_python_file_and_only_those(tmp_path):
    root = _package(tmp_path / "family", {"nets/g.py": "x = 1\n", "loop.py": "y = 2\n", "notes.md": "a\n"})
    before = code_fingerprint(root)
    assert code_fingerprint(root) == before and len(before) == 64
    (root / "notes.md").write_text("b\n")
    assert code_fingerprint(root) == before  # not code
    (root / "nets" / "g.py").write_text("x = 3\n")
    assert code_fingerprint(root) != before
    (root / "nets" / "g.py").write_text("x = 1\n")
    (root / "nets" / "g.py").rename(root / "g.py")
    assert code_fingerprint(root) != before  # a moved file is other code


def test_fingerprint_of_several_packages_depends_on_each(tmp_path):
    shared = _package(tmp_path / "shared", {"training.py": "a = 1\n"})
    family = _package(tmp_path / "family", {"train.py": "b = 1\n"})
    both = code_fingerprint(shared, family)
    assert both not in {code_fingerprint(shared), code_fingerprint(family)}
    (family / "train.py").write_text("b = 2\n")
    assert code_fingerprint(shared, family) != both
    with pytest.raises(ValueError, match="at least one package"):
        code_fingerprint()
