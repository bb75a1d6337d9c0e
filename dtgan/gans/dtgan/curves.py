"""DT-GAN training curves through DVCLive: one DVCLive folder per `train_gan` matrix cell.

The folder is rewritten from the run's full loss history (kept in the checkpoint) every time a checkpoint is saved,
so a killed and resumed run ends with exactly the curves of an uninterrupted one: nothing logged after the last
checkpoint survives as a stale row. ``dvcyaml=False``: dvc.yaml declares the plots itself.
Each logged loss ``<phase>/<term>`` becomes ``plots/metrics/<phase>/<term>.tsv`` with columns ``step`` and
``<term>``.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from dvclive import Live

from dtgan.errors import DataError

CURVES_DIR = "curves"  # the DVCLive folder inside a train_gan cell's reports folder


def write_curves(folder: str | Path, history: list[dict[str, float]]) -> None:
    """(Re)write every curve of ``history`` (rows with ``step`` and one value per loss) into ``folder``."""
    live = Live(str(folder), resume=False, report=None, save_dvc_exp=False, dvcyaml=False)
    for row in history:
        live.step = int(row["step"])
        for name, value in row.items():
            if name != "step":
                live.log_metric(name, value)
    live.end()


def read_curves(folder: str | Path) -> pd.DataFrame:
    """The curves written by :func:`write_curves` as one wide frame: ``step`` and a ``<phase>/<term>`` column each."""
    root = Path(folder) / "plots" / "metrics"
    if not root.is_dir():
        msg = f"training curves {root} not found: run the train_gan stage that writes them"
        raise DataError(msg)
    frames = []
    for path in sorted(root.rglob("*.tsv")):
        name = path.relative_to(root).with_suffix("").as_posix()
        curve = pd.read_csv(path, sep="\t")
        frames.append(curve.rename(columns={curve.columns[-1]: name}).set_index("step")[name])
    return pd.concat(frames, axis=1).sort_index().reset_index()
