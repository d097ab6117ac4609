"""Regenerate meshes/rootsystem_rapeseed_16d.csv: an oilseed-rape root system after 16 days.

CPlantBox (in the pinned environment) with its parameter file for Brassica napus of
Leitner et al. (2010) — the root architecture model of the same group as the seed's case
study 2 — seed 1, simulated for 16 days, written as rhizofem's plain root-system table
(one row per segment: end points, radius, creation time of the distal node, root id, order).

    .venv/bin/python meshes/make_rootsystem_rapeseed.py
"""

from pathlib import Path

import numpy as np
import plantbox as pb

from rhizofem.rootsystem.architecture import RootSystem

DAYS = 16.0
OUT = Path(__file__).with_name("rootsystem_rapeseed_16d.csv")


def grow(days: float, box_cm: tuple[float, float, float] | None = None) -> RootSystem:
    """Oilseed rape (CPlantBox, Leitner et al. 2010 parameters, seed 1) after ``days``, in a
    CPlantBox SDF_PlantBox of ``box_cm`` (x, y, depth) if given, as rhizofem's root system with
    order = subType − 1 (the stored tables were written that way; CPlantBox's own "order" parameter
    differs for some laterals)."""
    params = Path(pb.__file__).parent / "modelparameter/structural/rootsystem/Brassica_napus_a_Leitner_2010.xml"
    rs = pb.RootSystem()
    rs.readParameters(str(params))
    if box_cm is not None:
        rs.setGeometry(pb.SDF_PlantBox(*box_cm))
    rs.setSeed(1)
    rs.initialize(False)
    rs.simulate(days, False)
    ana = pb.SegmentAnalyser(rs)
    nodes = np.array([[n.x, n.y, n.z] for n in ana.nodes])
    segments = np.array([[s.x, s.y] for s in ana.segments])
    organ = np.array(ana.getParameter("id")).astype(int)
    root_id = np.unique(organ, return_inverse=True)[1]
    order = np.maximum(np.array(ana.getParameter("subType")).astype(int) - 1, 0)
    where = f", rhizotron {box_cm} cm" if box_cm is not None else ""
    return RootSystem(nodes, segments, np.array(ana.getParameter("radius")),
                      np.array(ana.getParameter("creationTime")), root_id, order,
                      np.full(root_id.max() + 1, -1),
                      f"CPlantBox Brassica_napus_a_Leitner_2010, seed 1, {days:g} d{where}")


def main() -> None:
    system = grow(DAYS)
    system.to_table(OUT)
    print(f"{OUT.name}: {system.n_segments} segments, {system.total_length_cm():.1f} cm of root")


if __name__ == "__main__":
    main()
