"""Regenerate meshes/rootsystem_rapeseed_rhizotron_16d.csv: oilseed rape grown 16 days in a rhizotron.

CPlantBox (in the pinned environment) with its Brassica napus parameters of Leitner et al.
(2010), seed 1, confined to a rhizotron of 20 × 2 × 45 cm (x, y, depth; CPlantBox's
SDF_PlantBox, centred on the seed in x and y, top at z = 0), simulated for 16 days and written
as rhizofem's root-system table (one row per segment: end points, radius, creation time of the
distal node, root id, order). It is the default root system of the coupled model
(``[macro] enabled = true``, ``[macro] box_cm = [21, 2.5, 46]``: the rhizotron with a margin for the tips CPlantBox lets poke out of it).

    python meshes/rootsystem_rapeseed_rhizotron.py
"""

from pathlib import Path

from make_rootsystem_rapeseed import grow

DAYS = 16.0
BOX_CM = (20.0, 2.0, 45.0)
OUT = Path(__file__).with_name("rootsystem_rapeseed_rhizotron_16d.csv")


def main() -> None:
    system = grow(DAYS, BOX_CM)
    system.to_table(OUT)
    nodes = system.nodes
    print(f"{OUT.name}: {system.n_segments} segments, {system.total_length_cm():.1f} cm of root; "
          f"x {nodes[:, 0].min():.2f}..{nodes[:, 0].max():.2f}, y {nodes[:, 1].min():.2f}..{nodes[:, 1].max():.2f}, "
          f"z {nodes[:, 2].min():.2f}..{nodes[:, 2].max():.2f} cm")


if __name__ == "__main__":
    main()
