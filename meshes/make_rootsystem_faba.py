"""Write meshes/vicia_faba_21d.rsml: the faba bean root system of the seed's case study 1.

CPlantBox (in the pinned environment) grows ``Faba_synMRI.xml`` (Landl et al. 2021's
architecture) for 21 days with seed 1 (rhizofem.rootsystem.cplantbox.vicia_faba); rhizofem's
RSML writer stores node positions, radii and node creation times, which the rhizodeposition
model reads back as tip paths (demos/rhizodeposition_faba_*.toml). ~2 MB, so not committed:

    source scripts/setup                  # from the repository root
    python meshes/make_rootsystem_faba.py
"""

from pathlib import Path

from rhizofem.rootsystem.cplantbox import vicia_faba
from rhizofem.rootsystem.rsml import write_rsml

DAYS = 21.0
OUT = Path(__file__).with_name("vicia_faba_21d.rsml")

if __name__ == "__main__":
    rs, _ = vicia_faba(DAYS, seed=1)
    write_rsml(rs, OUT)
    print(f"{OUT}: {rs.n_roots} roots, {rs.n_segments} segments, {rs.total_length_cm():.1f} cm")
