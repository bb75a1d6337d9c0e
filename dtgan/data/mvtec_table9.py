"""Supplement Table 9: MVTec AD defect images regrouped into Scratches-like and Spots-like, as data.

Keys are category -> domain -> original defect folder -> image ids (the file stems in
``<category>/test/<defect>/``). Images of a category/defect not listed here are not used. The printed wood table
also shows a stray "000-016" in the Spots column of its scratch row; the printed totals do not count it, so it is
left out (protocol.md §1.2).

The printed table lists leather ``glue/009`` in both columns (and no ``glue/004``). It is kept in both, as
printed, so the indexed totals equal the printed ones; its two rows get domain-qualified sample ids, and
:func:`ambiguous_ids` names it so the indexer can warn that one image carries both labels.
"""

from __future__ import annotations


def _ids(*parts: int | tuple[int, int]) -> tuple[int, ...]:
    """Image ids from single ids and inclusive (first, last) ranges."""
    out: list[int] = []
    for part in parts:
        out.extend(range(part[0], part[1] + 1) if isinstance(part, tuple) else [part])
    return tuple(out)


TABLE9: dict[str, dict[str, dict[str, tuple[int, ...]]]] = {
    "carpet": {
        "Scratches": {"color": _ids(11, 12, 14, 16, 17), "thread": _ids((0, 18))},
        "Spots": {"color": _ids(0, 3, 4, 7, 15, 18), "hole": _ids((0, 16))},
    },
    "leather": {
        "Scratches": {
            "color": _ids(1, 3, 5, 7, 9, 11, 13, 15, 18),
            "cut": _ids((0, 18)),
            "fold": _ids((0, 6), (9, 16)),
            "glue": _ids(3, 9, 10, 16, 17),
        },
        "Spots": {
            "color": _ids(0, 2, 6, 8, 10, 12, 14),
            "glue": _ids((0, 2), (5, 9), (11, 15), 18),
            "poke": _ids((0, 17)),
        },
    },
    "tile": {"Scratches": {"crack": _ids((0, 16))}, "Spots": {}},
    "wood": {
        "Scratches": {"color": _ids(3, 5), "scratch": _ids((1, 6), (8, 10), (13, 16), (18, 20)), "combined": _ids(8)},
        "Spots": {"hole": _ids((0, 4), (6, 9)), "combined": _ids(1, 2, 9)},
    },
}

# Totals printed in the supplement (Scratches, Spots); a test checks TABLE9 reproduces them.
PRINTED_TOTALS: dict[str, tuple[int, int]] = {
    "carpet": (24, 23), "leather": (48, 39), "tile": (17, 0), "wood": (19, 12),
}


def table9_totals() -> dict[str, tuple[int, int]]:
    return {
        cat: (sum(len(v) for v in doms["Scratches"].values()), sum(len(v) for v in doms["Spots"].values()))
        for cat, doms in TABLE9.items()
    }


def ambiguous_ids() -> dict[str, list[tuple[str, int]]]:
    """(defect, id) pairs that the printed table lists under both Scratches and Spots, per category."""
    out: dict[str, list[tuple[str, int]]] = {}
    for cat, doms in TABLE9.items():
        scratches = {(d, i) for d, ids in doms["Scratches"].items() for i in ids}
        spots = {(d, i) for d, ids in doms["Spots"].items() for i in ids}
        if scratches & spots:
            out[cat] = sorted(scratches & spots)
    return out
