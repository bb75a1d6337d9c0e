"""dtgan.runtime: atomic writers replace outputs whole and give identical bytes for identical content; the allocator
setting of stage processes takes effect."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import torch

from dtgan.runtime import reuse_freed_memory, save_torch, write_json


def _md5(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_save_torch_twice_gives_identical_bytes(tmp_path: Path) -> None:
    # DVC hashes outputs: a rerun that saves the same tensors must not look like a change.
    state = {"weights": torch.arange(12, dtype=torch.float32).view(3, 4), "step": 7}
    first, second = tmp_path / "a" / "model.pt", tmp_path / "b" / "model.pt"
    save_torch(first, state)
    save_torch(second, state)
    assert _md5(first) == _md5(second)
    save_torch(first, state)  # rewriting in place (a different temporary file) changes nothing either
    assert _md5(first) == _md5(second)
    loaded = torch.load(first, weights_only=True)
    assert torch.equal(loaded["weights"], state["weights"]) and loaded["step"] == 7


def test_save_torch_failure_keeps_previous_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    save_torch(path, {"x": torch.ones(2)})
    before = path.read_bytes()
    with pytest.raises(Exception):  # noqa: B017 - whatever pickling raises, the old file must survive
        save_torch(path, {"x": lambda: None})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


def test_write_json_sorts_keys(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    write_json(path, {"b": 1, "a": 2})
    assert path.read_text() == '{\n  "a": 2,\n  "b": 1\n}\n'


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_reuse_freed_memory_takes_effect_on_glibc() -> None:
    assert reuse_freed_memory() is True
