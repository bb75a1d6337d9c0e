"""Data layer: indexers, validation, image conversion, rejects and the embedded generator."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from dtgan.constants import DOMAINS
from dtgan.data.cache import build_cache, check_rejects, load_image, to_rgb_uint8
from dtgan.data.embedded import generate_sample, write_embedded_dataset
from dtgan.data.mvtec_table9 import PRINTED_TOTALS, TABLE9, table9_totals
from dtgan.data.sources import index_folder, index_mtd, index_mvtec
from dtgan.data.table import check_mask_sizes, count_table, make_table, validate_table
from dtgan.errors import DataError
from tests.conftest import SHARED


def _png(path, size=(20, 16), mode="RGB", value=128):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode != "RGB" else (value,) * 3).save(path)
    return path


def _folder_dataset(root, products=("P1", "P2"), domains=("Normal", "Scratches", "Spots"), n=3):
    for p in products:
        for d in domains:
            for i in range(n):
                _png(root / p / d / f"{i}.png")
    return root


# --- folder source -----------------------------------------------------------------------------------------------
def test_folder_index_counts_and_columns(tmp_path):
    table = make_table(index_folder(_folder_dataset(tmp_path / "ds")))
    validate_table(table)
    assert count_table(table).to_numpy().tolist() == [[3, 3, 3], [3, 3, 3]]
    assert table["sample_id"].is_unique


def test_folder_domain_map_and_masks(tmp_path):
    root = tmp_path / "ds"
    for d in ("ok", "scratch", "spot"):
        _png(root / "X" / d / "a.png")
    _png(tmp_path / "masks" / "X" / "scratch" / "a.png", mode="L", value=255)
    rows = index_folder(root, {"ok": "Normal", "scratch": "Scratches", "spot": "Spots"}, tmp_path / "masks")
    table = make_table(rows)
    assert set(table["domain"]) == set(DOMAINS)
    assert (table["mask_path"] != "").sum() == 1


def test_empty_domain_folder_is_an_error(tmp_path):
    root = _folder_dataset(tmp_path / "ds")
    (root / "P1" / "Spots" / "empty").mkdir()
    for f in (root / "P1" / "Spots").glob("*.png"):
        f.unlink()
    with pytest.raises(DataError, match=r"P1/Spots contains no images"):
        index_folder(root)


def test_empty_root_is_an_error(tmp_path):
    (tmp_path / "ds").mkdir()
    with pytest.raises(DataError, match="has no product folders"):
        index_folder(tmp_path / "ds")


def test_missing_domain_is_an_error_unless_allowed(tmp_path):
    root = _folder_dataset(tmp_path / "ds", domains=("Normal", "Scratches"))
    with pytest.raises(DataError, match=r"lacks defect domain\(s\) \['Spots'\].*allow_missing_domains"):
        index_folder(root)
    assert len(index_folder(root, allow_missing_domains=True)) == 12


def test_missing_normal_is_an_error(tmp_path):
    root = _folder_dataset(tmp_path / "ds", domains=("Scratches", "Spots"))
    with pytest.raises(DataError, match="has no Normal images"):
        index_folder(root)


# --- validation --------------------------------------------------------------------------------------------------
def test_validation_names_duplicates_and_unknown_domains(tmp_path):
    rows = index_folder(_folder_dataset(tmp_path / "ds"))
    dup = make_table(rows + [rows[0]])
    with pytest.raises(DataError, match=r"duplicate sample ids: P1/Normal/0"):
        validate_table(dup)
    bad = make_table(rows)
    bad.loc[2, "domain"] = "Dents"
    with pytest.raises(DataError, match=r"unknown domain\(s\) \['Dents'\]"):
        validate_table(bad)


def test_validation_names_missing_files(tmp_path):
    table = make_table(index_folder(_folder_dataset(tmp_path / "ds")))
    table.loc[0, "mask_path"] = str(tmp_path / "nope.png")
    with pytest.raises(DataError, match=r"mask file\(s\) not found.*nope\.png"):
        validate_table(table)
    table.loc[1, "image_path"] = str(tmp_path / "gone.png")
    with pytest.raises(DataError, match=r"image file\(s\) not found.*gone\.png"):
        validate_table(table)


def test_mask_of_wrong_size_is_named(tmp_path):
    table = make_table(index_folder(_folder_dataset(tmp_path / "ds")))
    table.loc[0, "mask_path"] = str(_png(tmp_path / "m.png", size=(5, 5), mode="L"))
    with pytest.raises(DataError, match=r"P1/Normal/0: image 20x16 but mask .*m\.png 5x5"):
        check_mask_sizes(table)


# --- decoding ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode,value", [("L", 200), ("RGBA", (10, 20, 30, 255)), ("P", 7), ("LA", (90, 255))])
def test_modes_convert_to_rgb(tmp_path, mode, value):
    img = Image.new(mode, (8, 8), value)
    rgb = to_rgb_uint8(img)
    assert rgb.mode == "RGB"
    if mode == "L":
        assert np.asarray(rgb)[0, 0].tolist() == [200, 200, 200]


def test_sixteen_bit_is_rescaled_not_clipped(tmp_path):
    arr = np.full((8, 8), 65535, np.uint16)
    arr[0, 0] = 0
    path = tmp_path / "deep.png"
    Image.fromarray(arr).save(path)
    image, original = load_image(str(path), 4, Image.NEAREST)
    assert original == (8, 8)
    assert image.max() == 255 and image.dtype == np.uint8


def test_transparent_rgba_composited_on_black():
    rgb = np.asarray(to_rgb_uint8(Image.new("RGBA", (2, 2), (255, 255, 255, 0))))
    assert rgb.max() == 0


def test_corrupt_and_truncated_files_are_rejected_with_reason(tmp_path):
    root = _folder_dataset(tmp_path / "ds", n=4)
    (root / "P1" / "Normal" / "0.png").write_bytes(b"not an image at all")
    good = (root / "P2" / "Normal" / "0.png").read_bytes()
    (root / "P2" / "Normal" / "1.png").write_bytes(good[: len(good) // 2])
    table = make_table(index_folder(root))
    accepted, images, masks, rejects = build_cache(table, 8, "bilinear")
    assert sorted(rejects["sample_id"]) == ["P1/Normal/0", "P2/Normal/1"]
    assert all(rejects["reason"].str.len() > 0)
    assert len(accepted) == len(table) - 2 == images.shape[0] == masks.shape[0]
    assert accepted["cache_index"].tolist() == list(range(len(accepted)))
    with pytest.raises(DataError, match=r"2 of 24 images could not be decoded.*max_reject_fraction"):
        check_rejects(rejects, len(table), 0.05)
    check_rejects(rejects, len(table), 0.1)


def test_zero_byte_and_undecodable_masks_reject_their_image_with_reason(tmp_path):
    root = _folder_dataset(tmp_path / "ds", n=3)
    masks = tmp_path / "masks"
    for i in range(3):
        _png(masks / "P1" / "Scratches" / f"{i}.png", mode="L", value=0)
    (masks / "P1" / "Scratches" / "0.png").write_bytes(b"")  # zero bytes
    (masks / "P1" / "Scratches" / "1.png").write_bytes(b"\x89PNG garbage")  # not decodable
    table = make_table(index_folder(root, mask_root=masks))
    check_mask_sizes(table)  # no PIL traceback: undecodable files are left to the cache's rejects
    accepted, _, _, rejects = build_cache(table, 8, "bilinear")
    assert sorted(rejects["sample_id"]) == ["P1/Scratches/0", "P1/Scratches/1"]
    assert rejects["reason"].str.startswith("mask ").all() and rejects["reason"].str.contains("png").all()
    assert "P1/Scratches/2" in set(accepted["sample_id"]) and len(accepted) == len(table) - 2


def test_prepare_stage_puts_bad_masks_in_rejects_csv(tmp_path):
    import pandas as pd
    import yaml

    from stages import prepare

    root = _folder_dataset(tmp_path / "ds", n=30)
    masks = tmp_path / "masks"
    _png(masks / "P1" / "Spots" / "0.png", mode="L", value=255)
    (masks / "P1" / "Spots" / "1.png").write_bytes(b"")
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump({"data": {"source": "folder", "root": str(root), "mask_root": str(masks),
                                               "image_size": 8, "max_reject_fraction": 0.05}}))
    prepare.main(["--params", str(params), "--out", str(tmp_path / "prepared")])
    rejects = pd.read_csv(tmp_path / "prepared" / "rejects.csv")
    assert rejects["sample_id"].tolist() == ["P1/Spots/1"] and rejects["reason"].str.startswith("mask").all()


def test_masks_are_binarised_and_nearest_resized(tmp_path):
    root = tmp_path / "ds"
    _folder_dataset(root, n=1)
    mask = np.zeros((16, 20), np.uint8)
    mask[4:12, 5:15] = 1
    (tmp_path / "masks" / "P1" / "Spots").mkdir(parents=True)
    Image.fromarray(mask).save(tmp_path / "masks" / "P1" / "Spots" / "0.png")
    table = make_table(index_folder(root, mask_root=tmp_path / "masks"))
    _, _, masks, _ = build_cache(table, 8, "bilinear")
    values = set(np.unique(masks).tolist())
    assert values == {0, 255}


# --- MVTec AD (supplement Table 9) -------------------------------------------------------------------------------
def test_table9_reproduces_printed_totals():
    assert table9_totals() == PRINTED_TOTALS


def test_mvtec_fake_tree_counts(tmp_path):
    root = tmp_path / "mvtec"
    for cat, domains in TABLE9.items():
        for part in ("train", "test"):
            _png(root / cat / part / "good" / "000.png")
        for per_defect in domains.values():
            for defect, _ids in per_defect.items():
                for i in range(0, 21):  # more files than listed: unlisted ids must not be used
                    _png(root / cat / "test" / defect / f"{i:03d}.png")
                    _png(root / cat / "ground_truth" / defect / f"{i:03d}_mask.png", mode="L")
        _png(root / cat / "test" / "metal_contamination" / "000.png")
    table = make_table(index_mvtec(root, ("carpet", "leather", "tile", "wood")))
    validate_table(table)
    counts = count_table(table)
    got = {cat: (int(counts.loc[cat, "Scratches"]), int(counts.loc[cat, "Spots"])) for cat in counts.index}
    assert got == {"carpet": (24, 23), "leather": (48, 39), "tile": (17, 0), "wood": (19, 12)}
    assert (counts["Normal"] == 2).all()
    assert (table.loc[table["domain"] != "Normal", "mask_path"] != "").all()


def test_mvtec_unknown_category(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(DataError, match="'bottle'.*Table 9"):
        index_mvtec(tmp_path / "m", ("bottle",))


# --- MTD (real copy in ../shared) --------------------------------------------------------------------------------
MTD = SHARED / "datasets" / "mtd"


@pytest.mark.skipif(not MTD.is_dir(), reason=f"real MTD copy not found at {MTD}")
def test_mtd_real_copy_counts_and_masks():
    table = make_table(index_mtd(MTD))
    validate_table(table)
    counts = count_table(table)
    assert counts.loc["MTD"].tolist() == [952, 57, 115]
    assert (table["mask_path"] != "").all()
    assert not table["image_path"].str.endswith(".png").any()  # a .png is a mask, never an image


# --- embedded dataset --------------------------------------------------------------------------------------------
def test_embedded_sample_is_deterministic_and_masked():
    a1, m1 = generate_sample("A", "Scratches", 48, np.random.default_rng(3))
    a2, m2 = generate_sample("A", "Scratches", 48, np.random.default_rng(3))
    assert np.array_equal(a1, a2) and np.array_equal(m1, m2)
    assert a1.shape == (48, 48, 3) and a1.dtype == np.uint8
    assert m1.max() == 255 and 0 < (m1 > 0).mean() < 0.2
    _, m_normal = generate_sample("A", "Normal", 48, np.random.default_rng(3))
    assert m_normal.max() == 0


def test_embedded_written_in_folder_layout(tmp_path):
    counts = {"A": {"Normal": 2, "Scratches": 1, "Spots": 1}}
    assert write_embedded_dataset(tmp_path, counts, 32, seed=1) == 4
    table = make_table(index_folder(tmp_path / "images", mask_root=tmp_path / "masks"))
    validate_table(table)
    check_mask_sizes(table)
    assert (table["mask_path"] != "").sum() == 2


def test_table9_double_listing_is_known():
    from dtgan.data.mvtec_table9 import ambiguous_ids

    assert ambiguous_ids() == {"leather": [("glue", 9)]}


def _embedded_features(product: str, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Per image at the default 32 px: mean RGB (colour and light) and gradient energies (surface structure)."""
    colour, texture = [], []
    for i in range(n):
        image, _ = generate_sample(product, "Normal", 64, np.random.default_rng([seed, ord(product), i]))
        x = np.asarray(Image.fromarray(image).resize((32, 32), Image.BILINEAR), dtype=np.float64) / 255
        gray = x.mean(axis=-1)
        colour.append(x.reshape(-1, 3).mean(axis=0))
        dx, dy = np.abs(np.diff(gray, axis=1)).mean(), np.abs(np.diff(gray, axis=0)).mean()
        texture.append([dx, dy, dx / dy])
    return np.array(colour), np.array(texture)


def _nearest_centroid_accuracy(train: dict, test: dict) -> float:
    centres = {p: f.mean(axis=0) for p, f in train.items()}
    scale = np.mean([f.std(axis=0) for f in train.values()], axis=0)
    def nearest(v: np.ndarray) -> str:
        return min(centres, key=lambda q: np.sum(((v - centres[q]) / scale) ** 2))

    hits = [nearest(v) == p for p, f in test.items() for v in f]
    return float(np.mean(hits))


def test_embedded_products_differ_in_structure_not_in_colour():
    """A product classifier must need the texture: colour and light alone are near chance (1/3), texture is not."""
    train = {p: _embedded_features(p, 40, 1) for p in "ABC"}
    test = {p: _embedded_features(p, 40, 2) for p in "ABC"}
    by_colour = _nearest_centroid_accuracy({p: f[0] for p, f in train.items()}, {p: f[0] for p, f in test.items()})
    by_texture = _nearest_centroid_accuracy({p: f[1] for p, f in train.items()}, {p: f[1] for p, f in test.items()})
    assert by_colour < 0.5, by_colour
    assert by_texture > 0.95, by_texture
