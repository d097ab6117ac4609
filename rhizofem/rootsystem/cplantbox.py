"""Root systems from CPlantBox (Schnepf et al. 2018; Zhou et al. 2020), an optional dependency.

CPlantBox is the PyPI package ``cplantbox`` with import name ``plantbox``; it is imported only
when a function here is called, so rhizofem works without it.

:func:`from_cplantbox` copies a grown ``plantbox.Plant`` or ``plantbox.RootSystem`` into a
:class:`~rhizofem.rootsystem.architecture.RootSystem`: CPlantBox's nodes are in cm, its times
in days and its segments run base → tip, as in rhizofem, so nothing is converted. Per segment
it takes (through ``plantbox.SegmentAnalyser``) the radius, the creation time of the distal
node (``creationTime``), the organ id (→ ``root_id`` numbered 0.. in CPlantBox's id order) and
the branching ``order``, and per root its parent and its emergence time (the creation time of
its first node, ``getNodeCT(0)``: that node is a node of the parent, created earlier there); only root segments (organ type 2) are kept and unused nodes (the seed
node) are dropped.

:func:`simulate` grows a root system from a parameter file shipped with CPlantBox;
:func:`vicia_faba` is the faba bean of CPlantBox's exudation example (``Faba_synMRI.xml``,
tap root with two lateral orders), the architecture Landl et al. (2021) used.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np

from rhizofem.errors import InputError
from rhizofem.rootsystem.architecture import RootSystem

__all__ = ["FABA_PARAMETERS", "from_cplantbox", "import_plantbox", "parameter_file", "quiet_stdout",
           "simulate", "vicia_faba"]

FABA_PARAMETERS = "Faba_synMRI"
ROOT_ORGAN_TYPE = 2


def import_plantbox():
    """The ``plantbox`` module, or an InputError that says how to install it."""
    try:
        import plantbox
    except ImportError as err:
        raise InputError(f"CPlantBox is not installed ({err}). Fix: pip install cplantbox "
                         "(import name plantbox), e.g. pip install 'rhizofem[cplantbox]'.") from None
    return plantbox


@contextlib.contextmanager
def quiet_stdout():
    """Silence C++ output on file descriptor 1 (CPlantBox prints a line per root and warns that
    RootSystem is deprecated); Python's own sys.stdout is left alone."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def from_cplantbox(organism, source: str = "CPlantBox") -> RootSystem:
    """The root segments of a grown ``plantbox.Plant`` or ``plantbox.RootSystem``."""
    pb = import_plantbox()
    sa = pb.SegmentAnalyser(organism)
    nodes = np.array([np.array(n) for n in sa.nodes], dtype=float).reshape(-1, 3)
    segments = np.array([np.array(s) for s in sa.segments], dtype=np.int64).reshape(-1, 2)
    organ_type = np.asarray(sa.getParameter("organType"))
    keep = organ_type == ROOT_ORGAN_TYPE
    if not keep.any():
        raise InputError(f"{source}: the CPlantBox object has no root segments. Fix: simulate it "
                         "(initialize() and simulate(t)) before importing.")
    segments = segments[keep]
    radius = np.asarray(sa.getParameter("radius"))[keep]
    created = np.asarray(sa.getParameter("creationTime"))[keep]
    organ_id = np.asarray(sa.getParameter("id"))[keep].astype(np.int64)
    order = np.asarray(sa.getParameter("order"))[keep].astype(np.int64)

    ids = np.unique(organ_id)  # CPlantBox's organ ids, ascending = creation order
    root_id = np.searchsorted(ids, organ_id)
    root_parent = np.full(len(ids), -1, dtype=np.int64)
    root_start = np.full(len(ids), np.nan)
    for organ in organism.getOrgans(ROOT_ORGAN_TYPE):
        parent = organ.getParent()
        k = np.searchsorted(ids, organ.getId())
        if k >= len(ids) or ids[k] != organ.getId():
            continue  # a root without segments yet
        # the root's own start: its first node's creation time (that node is the parent's
        # node, whose creation time on the parent is earlier)
        root_start[k] = organ.getNodeCT(0)
        if parent is not None and parent.organType() == ROOT_ORGAN_TYPE:
            j = np.searchsorted(ids, parent.getId())
            if j < len(ids) and ids[j] == parent.getId():
                root_parent[k] = j

    used, new_index = np.unique(segments, return_inverse=True)  # drop the seed node etc.
    return RootSystem(nodes[used], new_index.reshape(-1, 2), radius, created, root_id, order,
                      root_parent, source, root_start)


def parameter_file(name: str) -> Path:
    """A CPlantBox parameter file: a path, or a name of a file shipped in the wheel
    (``modelparameter/structural/rootsystem`` or ``.../plant``), with or without ``.xml``."""
    p = Path(name)
    if p.suffix == ".xml" and p.is_file():
        return p
    pb = import_plantbox()
    stem = p.stem if p.suffix == ".xml" else p.name
    data = Path(pb.data_path()) / "structural"
    for folder in ("rootsystem", "plant"):
        candidate = data / folder / f"{stem}.xml"
        if candidate.is_file():
            return candidate
    shipped = sorted(f.stem for f in (data / "rootsystem").glob("*.xml"))
    raise InputError(f"CPlantBox parameter file {name!r} not found. Fix: give a path to an .xml "
                     f"file or one of the shipped names, e.g. {', '.join(shipped[:8])}, ...")


def simulate(parameter_name: str = FABA_PARAMETERS, t_end_d: float = 21.0, dt_d: float | None = None,
             seed: int = 1):
    """Grow a root system with CPlantBox; returns ``(RootSystem, plantbox.RootSystem)``.

    ``plantbox.RootSystem`` (not ``Plant``) is used because CPlantBox's ExudationModel and its
    RSML writer need it. ``dt_d`` splits the growth into steps (None: one call; CPlantBox's
    result depends on the steps only through its random numbers and the segment subdivision).
    """
    if not t_end_d > 0:
        raise InputError(f"t_end_d={t_end_d}: the growth time must be > 0 days.")
    if dt_d is not None and not dt_d > 0:
        raise InputError(f"dt_d={dt_d}: the time step must be > 0 days (or None).")
    pb = import_plantbox()
    path = parameter_file(parameter_name)
    with quiet_stdout():
        rs = pb.RootSystem()
        rs.readParameters(str(path))
        rs.setSeed(int(seed))
        rs.initialize(False)
        steps = [t_end_d] if dt_d is None else np.diff(np.append(np.arange(0.0, t_end_d, dt_d), t_end_d))
        for dt in steps:
            if dt > 0:
                rs.simulate(float(dt), False)
    return from_cplantbox(rs, f"CPlantBox {path.stem}, seed {seed}, {t_end_d:g} d"), rs


def vicia_faba(t_end_d: float = 21.0, seed: int = 1):
    """The faba bean root system (CPlantBox ``Faba_synMRI.xml``) grown for ``t_end_d`` days."""
    return simulate(FABA_PARAMETERS, t_end_d, None, seed)
