"""Mechanics of the code-bank probe (benchmarks/bench_code_bank.py): its transforms are the ones it names."""

from __future__ import annotations

import numpy as np
import torch

from benchmarks.bench_code_bank import DIHEDRAL, dihedral, transform_code


def test_dihedral_group_has_eight_distinct_elements_and_keeps_values():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    moved = [dihedral(x, flip, turns) for flip, turns in DIHEDRAL]
    assert len({tuple(m.flatten().tolist()) for m in moved}) == 8
    assert all(torch.equal(m.flatten().sort().values, x.flatten()) for m in moved)


def test_transforms_are_seeded_and_none_is_the_identity():
    code = torch.randn(1, 2, 4, 4)
    assert torch.equal(transform_code(code, "none", np.random.default_rng(0)), code)
    for name in ("flip", "dihedral", "dihedral_shift"):
        a = transform_code(code, name, np.random.default_rng(5))
        assert torch.equal(a, transform_code(code, name, np.random.default_rng(5)))
        assert torch.allclose(a.flatten().sort().values, code.flatten().sort().values)
