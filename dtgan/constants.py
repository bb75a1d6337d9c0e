"""Names shared by every stage.

Domain order matters: index 0 is Normal, the anchor domain whose defect code is all zeros (spec dtgan.md §3.2).
"""

DOMAINS: tuple[str, ...] = ("Normal", "Scratches", "Spots")
NORMAL = "Normal"
DEFECT_DOMAINS: tuple[str, ...] = DOMAINS[1:]
DOMAIN_INDEX: dict[str, int] = {name: i for i, name in enumerate(DOMAINS)}
