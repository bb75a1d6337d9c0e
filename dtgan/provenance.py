"""Fingerprints of the code a persisted training checkpoint was written by.

DVC keeps a stage's ``persist: true`` outputs when the stage reruns because its code changed; a training that
resumed such a checkpoint would re-emit the model the old code trained under the new code's lock entry (seen once
with DT-GAN: five finished checkpoints were "resumed" at their last step and nothing was retrained). Every
resumable training therefore records :func:`code_fingerprint` of its own package and ignores a checkpoint whose
fingerprint differs, as it ignores one of another config or other data.

The fingerprint covers the training's own packages (networks, losses, loops), not the general utilities outside
them: a change there that alters what is trained must also change a config or the data to be noticed.
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def code_fingerprint(*roots: Path) -> str:
    """sha256 over the relative path and bytes of every .py file under each of ``roots`` (in the order given)."""
    if not roots:
        msg = "code_fingerprint needs at least one package directory"
        raise ValueError(msg)
    digest = hashlib.sha256()
    for root in roots:
        digest.update(root.name.encode())
        for path in sorted(root.rglob("*.py")):
            digest.update(path.relative_to(root).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()

