"""Figures: matplotlib without a display, pyvista rendered off-screen (headless EGL).

Both are drawn on rank 0 only; callers gather what they need first.
"""

from __future__ import annotations

import os

__all__ = ["offscreen_plotter", "pyplot"]


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
