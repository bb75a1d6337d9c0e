"""Report figures (PNG, matplotlib's object API: no global pyplot state, no display needed)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from dtgan.reports.tables import ClassifierCells, select_rows, setting_label
from dtgan.runtime import atomic_path


def _save(fig: Figure, path: Path) -> None:
    FigureCanvasAgg(fig)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, bbox_inches="tight", format="png")


def error_vs_scale(cells: ClassifierCells, settings: tuple[str, ...], augment: str, path: Path,
                   subtitle: str) -> None:
    """Test error vs data scale N, one panel per product, one line (mean ± std over seeds) per setting."""
    products = sorted(cells.rows["product"].unique())
    fig = Figure(figsize=(4.2 * len(products), 3.6))
    for k, product in enumerate(products):
        ax = fig.add_subplot(1, len(products), k + 1)
        for setting in settings:
            rows = select_rows(cells.rows, product=product, setting=setting, augment=augment).sort_values("scale")
            ax.errorbar(rows["scale"], rows["error_mean"], yerr=rows["error_std"].astype(float), marker="o", capsize=3,
                        label=setting_label(setting))
        ax.set_title(f"product {product}")
        ax.set_xlabel("real normals per product N (each class brought to N)")
        ax.set_ylabel("test error (%)")
        ax.grid(alpha=0.3)
    fig.axes[0].legend(fontsize=8)
    fig.suptitle(f"Classifier error vs data scale — {subtitle}", fontsize=9)
    _save(fig, path)


def ablation_bars(evals: dict[str, dict], path: Path) -> None:
    """Headline distance per guidance mode and target-domain accuracy, per ablation variant."""
    variants = list(evals)
    head = next(iter(evals.values()))["headline"]
    fig = Figure(figsize=(10, 3.6))
    ax1, ax2 = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    x = np.arange(len(variants))
    for i, mode in enumerate(("latent", "reference", "mix")):
        ax1.bar(x + (i - 1) * 0.27, [evals[v]["modes"][mode][head] for v in variants], 0.27, label=mode)
    for i, mode in enumerate(("latent", "reference")):
        ax2.bar(x + (i - 0.5) * 0.4, [100 * evals[v]["target_accuracy"][mode] for v in variants], 0.4, label=mode)
    for ax, ylabel in ((ax1, f"{head} (lower is better)"), (ax2, "target-domain accuracy (%)")):
        ax.set_xticks(x, [f"({v})" for v in variants])
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle(f"Ablation (a) StarGAN v2 ... (e) DT-GAN — {head} is Fréchet distance on EfficientNet-Lite0 "
                 "features, not Inception FID", fontsize=9)
    _save(fig, path)


def _warmup_end(losses: dict[str, pd.DataFrame]) -> float | None:
    """Last step of the non-adversarial warm-up (gan.warmup_iters), or None when no variant logged one."""
    ends = [frame.loc[frame["warmup/total"].notna(), "step"].max() for frame in losses.values()
            if "warmup/total" in frame.columns and frame["warmup/total"].notna().any()]
    return float(max(ends)) if ends else None


def training_curves(losses: dict[str, pd.DataFrame], path: Path) -> None:
    """Every logged GAN loss against the step, one panel per loss, one line per variant; a dashed line marks the
    end of the warm-up (warm-up terms are logged as ``warmup/*``, GAN terms after it)."""
    names = sorted({c for frame in losses.values() for c in frame.columns if c != "step"})
    warmup_end = _warmup_end(losses)
    cols = 4
    rows = int(np.ceil(len(names) / cols))
    fig = Figure(figsize=(4 * cols, 2.8 * rows))
    for k, name in enumerate(names):
        ax = fig.add_subplot(rows, cols, k + 1)
        for variant, frame in losses.items():
            if name in frame.columns:
                smooth = frame[name].rolling(max(1, len(frame) // 30), min_periods=1).mean()
                ax.plot(frame["step"], smooth, label=f"({variant})", linewidth=1)
        if warmup_end is not None:
            ax.axvline(warmup_end, color="grey", linestyle="--", linewidth=0.8)
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
    fig.axes[0].legend(fontsize=7)
    fig.suptitle("DT-GAN training losses per ablation variant (running mean)", fontsize=10)
    _save(fig, path)
