"""``gan.compile``: torch.compile of the networks' residual blocks, in place, for the training loop.

Blocks rather than whole networks: G, M and E are called through methods other than ``forward`` (encode_features,
decode, split), which compiling a module's ``forward`` would never see, while every ResBlk / AdainResBlk /
UpResBlk is called through its own ``forward``. ``Module.compile`` keeps the parameters and state_dict keys as
they are, so checkpoints, EMA copies and saved models do not change form. R1 needs a double backward, which
compiled graphs do not support: :func:`eager` runs that one pass uncompiled.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from typing import Any

import torch
from torch import nn

from dtgan.gans.dtgan.nets.blocks import AdainResBlk, ResBlk, UpResBlk

log = logging.getLogger(__name__)

COMPILED_BLOCKS = (ResBlk, AdainResBlk, UpResBlk)
RECOMPILE_LIMIT = 64


def compile_blocks(modules: list[nn.Module], backend: str) -> int:
    """Compile every residual block of ``modules`` with ``backend`` (``none``: leave them eager); returns the count."""
    if backend == "none":
        return 0
    blocks = [m for module in modules for m in module.modules() if isinstance(m, COMPILED_BLOCKS)]
    # A block is entered in several states per iteration (4 phases switch requires_grad of whole networks; real and
    # fake batches; warm-up and GAN steps), each a guard failure and a recompile; past dynamo's default limit of 8 it
    # would silently run eagerly. Process-wide, but only processes that train with gan.compile set it.
    torch._dynamo.config.recompile_limit = max(torch._dynamo.config.recompile_limit, RECOMPILE_LIMIT)
    for block in blocks:
        block.compile(backend=backend)
    log.info("gan.compile=%s: %d residual blocks compiled (the first iterations include the compile time)",
             backend, len(blocks))
    return len(blocks)


@contextlib.contextmanager
def eager() -> Iterator[Any]:
    """Compiled modules run eagerly inside the block (R1's pass, whose gradient is differentiated again)."""
    with torch.compiler.set_stance("force_eager"):
        yield
