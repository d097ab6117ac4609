"""Figures: matplotlib without a display, pyvista rendered off-screen (headless EGL).

Both are drawn on rank 0 only; callers gather what they need first.
"""

from __future__ import annotations

import os

__all__ = ["offscreen_plotter", "pyplot", "save_figure"]


def pyplot():
    """matplotlib.pyplot on the non-interactive Agg backend."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def offscreen_plotter(**kwargs):
    """A ``pyvista.Plotter`` that renders without a display (Mesa EGL, no X server)."""
    # EGL needs no X server; without this VTK first tries X and warns on headless machines
    os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")
    import pyvista

    pyvista.OFF_SCREEN = True
    kwargs.setdefault("window_size", (1200, 900))
    return pyvista.Plotter(off_screen=True, **kwargs)


def save_figure(fig, path, caption: str | None = None, *, dpi: int = 150) -> None:
    """Lay out, caption and write a matplotlib figure, then free it (call on rank 0).

    ``caption`` is a short line of the run's key parameters (e.g. "D = 2.9e-7 cm² s⁻¹,
    c_in = 1038 µg cm⁻³, 1 h, 0.20 M DOFs") printed small under the axes, so that a figure
    taken out of its folder still says what it shows.
    """
    rect = (0, 0, 1, 1)
    if caption:
        fig.text(0.01, 0.005, caption, fontsize=7, color="0.3", ha="left", va="bottom", wrap=True)
        rect = (0, 0.04, 1, 1)  # keep the caption clear of the axes
    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)
