"""Image → tagged simplex meshes (Gmsh files and DOLFINx meshes); see :mod:`rhizofem.meshing.tags`."""
