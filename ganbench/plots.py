"""Figures, with matplotlib only. Reads arrays, DataFrames and run directories; never trains."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")  # no display on servers and CI
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def scatter_points_png(points: np.ndarray, centres: np.ndarray, title: str = "") -> bytes:
    """Generated 2-D points over the true mode centres, as PNG bytes."""
    fig, ax = plt.subplots(figsize=(4.5, 4.5), dpi=100)
    finite = np.isfinite(points).all(axis=1)
    ax.scatter(points[finite, 0], points[finite, 1], s=2, alpha=0.4, color="tab:blue", label="generated")
    if len(centres):
        ax.scatter(centres[:, 0], centres[:, 1], s=40, marker="x", color="tab:red", label="mode centres")
        span = np.abs(centres).max() * 1.5 + 0.5
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()
