"""Physical groups of rhizofem's soil meshes: fixed numbers, fixed names.

A mesh that rhizofem writes carries these groups. A mesh from elsewhere is matched by
*name* (whatever its numbers), so a Gmsh file from another tool works when it names its
groups "soil", "root_contact", "hair_contact" and "no_flux".

=============  =====  =========  ===========================================================
name           value  dimension  what it is
=============  =====  =========  ===========================================================
soil           1      d          the soil-aggregate volume (the diffusion domain)
root_contact   11     d-1        root epidermis touching soil (inlet, root part)
hair_contact   12     d-1        root-hair surface touching soil (inlet, hair part)
no_flux        13     d-1        every other boundary of the soil (pores, air, image border)
=============  =====  =========  ===========================================================
"""

SOIL = 1
ROOT_CONTACT = 11
HAIR_CONTACT = 12
NO_FLUX = 13

VOLUME_GROUPS = {"soil": SOIL}
FACET_GROUPS = {"root_contact": ROOT_CONTACT, "hair_contact": HAIR_CONTACT, "no_flux": NO_FLUX}
ALL_GROUPS = {**VOLUME_GROUPS, **FACET_GROUPS}

# [inlet] tags = ["root", "hair"] in a config name these facet groups
INLET_GROUPS = {"root": "root_contact", "hair": "hair_contact"}
