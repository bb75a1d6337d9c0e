"""Dataset indexers: each turns a dataset on disk into a sample table (see ``table.py``).

- ``folder``: SDI-style ``<root>/<product>/<domain folder>/<image>``, optional mask tree.
- ``mvtec``: the official MVTec AD layout regrouped by supplement Table 9.
- ``mtd``: Magnetic Tile Defects, ``<class>/Imgs/NAME.jpg`` with ``NAME.png`` beside it as its mask.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

from dtgan.constants import DEFECT_DOMAINS, DOMAINS, NORMAL
from dtgan.data.mvtec_table9 import TABLE9, ambiguous_ids
from dtgan.data.table import make_table
from dtgan.errors import DataError

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
MTD_DEFAULT_MAP = {"MT_Free": "Normal", "MT_Crack": "Scratches", "MT_Blowhole": "Spots"}
MTD_PRODUCT = "MTD"


def _require_dir(path: Path, what: str) -> None:
    if not path.is_dir():
        msg = f"{what} {path} does not exist or is not a folder"
        raise DataError(msg)


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def _row(sample_id: str, product: str, domain: str, image: Path, mask: Path | None, source_id: str) -> dict:
    return {"sample_id": sample_id, "product": product, "domain": domain, "image_path": str(image),
            "mask_path": str(mask) if mask else "", "source_id": source_id}


def default_folder_map() -> dict[str, str]:
    """Domain folders named after the domains, in any letter case."""
    return {name.lower(): name for name in DOMAINS}


def index_folder(root: str | Path, domain_map: Mapping[str, str] | None = None, mask_root: str | Path = "",
                 allow_missing_domains: bool = False) -> list[dict]:
    """Index ``<root>/<product>/<domain folder>/<image>``; masks at ``<mask_root>/<product>/<folder>/<stem>.png``."""
    root = Path(root)
    _require_dir(root, "dataset root (data.root)")
    mapping = {k.lower(): v for k, v in (domain_map or default_folder_map()).items()}
    products = sorted(p for p in root.iterdir() if p.is_dir())
    if not products:
        msg = f"dataset root {root} has no product folders; expected <root>/<product>/<domain>/<image>"
        raise DataError(msg)
    rows: list[dict] = []
    for product_dir in products:
        rows.extend(_index_product(product_dir, mapping, Path(mask_root) if mask_root else None, allow_missing_domains))
    return rows


def _index_product(product_dir: Path, mapping: Mapping[str, str], mask_root: Path | None,
                   allow_missing: bool) -> list[dict]:
    product = product_dir.name
    rows: list[dict] = []
    found: set[str] = set()
    for folder in sorted(p for p in product_dir.iterdir() if p.is_dir()):
        domain = mapping.get(folder.name.lower())
        if domain is None:
            log.warning("ignoring folder %s: not in data.domain_map %s", folder, sorted(mapping))
            continue
        images = _images_in(folder)
        if not images:
            msg = f"folder {folder} contains no images (expected {', '.join(IMAGE_SUFFIXES)} files)"
            raise DataError(msg)
        found.add(domain)
        for image in images:
            mask = mask_root / product / folder.name / f"{image.stem}.png" if mask_root else None
            mask = mask if mask is not None and mask.is_file() else None
            rows.append(_row(f"{product}/{folder.name}/{image.stem}", product, domain, image, mask, image.stem))
    _check_domains(product_dir, found, mapping, allow_missing)
    return rows


def _check_domains(product_dir: Path, found: set[str], mapping: Mapping[str, str], allow_missing: bool) -> None:
    if NORMAL not in found:
        msg = f"product folder {product_dir} has no Normal images (folders mapped to Normal: " \
              f"{sorted(k for k, v in mapping.items() if v == NORMAL)})"
        raise DataError(msg)
    missing = [d for d in DEFECT_DOMAINS if d not in found]
    if missing and not allow_missing:
        expected = {d: sorted(k for k, v in mapping.items() if v == d) for d in missing}
        msg = (f"product folder {product_dir} lacks defect domain(s) {missing} (expected folders {expected}); "
               "add them, adjust data.domain_map, or set data.allow_missing_domains: true")
        raise DataError(msg)


def index_mvtec(root: str | Path, categories: tuple[str, ...]) -> list[dict]:
    """Index MVTec AD: train/good + test/good as Normal, test defects regrouped by supplement Table 9."""
    root = Path(root)
    _require_dir(root, "MVTec AD root (data.root)")
    rows: list[dict] = []
    for category in categories:
        if category not in TABLE9:
            msg = (f"data.categories has {category!r}, which supplement Table 9 does not regroup; "
                   f"allowed {sorted(TABLE9)}")
            raise DataError(msg)
        rows.extend(_mvtec_normals(root / category, category))
        rows.extend(_mvtec_defects(root / category, category))
    return rows


def _mvtec_normals(cat_dir: Path, category: str) -> list[dict]:
    rows = []
    for part in ("train", "test"):
        good = cat_dir / part / "good"
        _require_dir(good, f"MVTec folder for {category}")
        rows += [_row(f"{category}/{part}/good/{p.stem}", category, NORMAL, p, None, f"{part}/good/{p.stem}")
                 for p in _images_in(good)]
    return rows


def _mvtec_defects(cat_dir: Path, category: str) -> list[dict]:
    for defect, image_id in ambiguous_ids().get(category, []):
        log.warning("MVTec %s %s/%03d is listed under both Scratches and Spots in supplement Table 9; "
                    "it is used with both labels, as printed", category, defect, image_id)
    rows = []
    for domain, per_defect in TABLE9[category].items():
        for defect, ids in per_defect.items():
            for image_id in ids:
                image = cat_dir / "test" / defect / f"{image_id:03d}.png"
                mask = cat_dir / "ground_truth" / defect / f"{image_id:03d}_mask.png"
                if not image.is_file():
                    msg = f"MVTec image {image} listed in supplement Table 9 ({category} {domain}) is missing"
                    raise DataError(msg)
                # The domain is part of the id: the printed table lists one image under both domains.
                rows.append(_row(f"{category}/{domain}/{defect}/{image_id:03d}", category, domain, image,
                                 mask if mask.is_file() else None, f"test/{defect}/{image_id:03d}"))
    return rows


def index_mtd(root: str | Path, domain_map: Mapping[str, str] | None = None) -> list[dict]:
    """Index Magnetic Tile Defects: ``<class>/Imgs/NAME.jpg``, mask ``NAME.png`` beside it (never an image)."""
    root = Path(root)
    _require_dir(root, "MTD root (data.root)")
    rows: list[dict] = []
    for folder_name, domain in (domain_map or MTD_DEFAULT_MAP).items():
        imgs = root / folder_name / "Imgs"
        _require_dir(imgs, f"MTD class folder for {domain} (data.domain_map key {folder_name!r})")
        jpgs = sorted(imgs.glob("*.jpg"))
        if not jpgs:
            msg = f"MTD folder {imgs} has no .jpg images"
            raise DataError(msg)
        for jpg in jpgs:
            mask = jpg.with_suffix(".png")
            rows.append(_row(f"{folder_name}/{jpg.stem}", MTD_PRODUCT, domain, jpg,
                             mask if mask.is_file() else None, jpg.stem))
    return rows


def index_dataset(cfg, embedded_root: Path | None = None) -> list[dict]:
    """Rows of the configured source (``cfg`` is a DataConfig); embedded data is indexed as a folder dataset."""
    if cfg.source == "embedded":
        return index_folder(embedded_root / "images", mask_root=embedded_root / "masks")
    if not cfg.root:
        msg = f"data.root must be set for data.source={cfg.source!r}"
        raise DataError(msg)
    if cfg.source == "folder":
        return index_folder(cfg.root, cfg.domain_map or None, cfg.mask_root, cfg.allow_missing_domains)
    if cfg.source == "mvtec":
        return index_mvtec(cfg.root, cfg.categories)
    return index_mtd(cfg.root, cfg.domain_map or None)


__all__ = ["index_dataset", "index_folder", "index_mtd", "index_mvtec", "make_table"]
