"""Label images from every supported format read back voxel for voxel; bad ones are refused.

Each format is written in the test from one reference array (NumPy, tifffile, Pillow, raw
bytes), so the reference is independent of the reader.
"""

import numpy as np
import pytest
from rhizofem.config import load
from rhizofem.errors import InputError
from rhizofem.imaging.io import ImageConfig, read_image, read_image_config


@pytest.fixture
def labels3d():
    rng = np.random.default_rng(11)
    return rng.integers(0, 5, size=(4, 6, 7)).astype(np.uint8)


def test_npy(tmp_path, labels3d):
    np.save(tmp_path / "a.npy", labels3d.astype(np.int32))
    image = read_image(tmp_path / "a.npy")
    assert image.dtype.kind == "i" and np.array_equal(image, labels3d)


def test_multipage_tiff(tmp_path, labels3d):
    import tifffile

    tifffile.imwrite(tmp_path / "stack.tif", labels3d, photometric="minisblack")
    assert np.array_equal(read_image(tmp_path / "stack.tif"), labels3d)


@pytest.mark.parametrize("suffix", [".tif", ".png"])
def test_folder_of_slices_in_natural_order(tmp_path, labels3d, suffix):
    import tifffile
    from PIL import Image

    folder = tmp_path / "slices"
    folder.mkdir()
    for i, s in enumerate(labels3d):
        # slice_2 must come before slice_10 (natural order, not lexical)
        name = folder / f"slice_{2 * i}{suffix}"
        if suffix == ".tif":
            tifffile.imwrite(name, s)
        else:
            Image.fromarray(s).save(name)
    (folder / "notes.txt").write_text("not a slice")
    assert np.array_equal(read_image(folder), labels3d)


@pytest.mark.parametrize("dtype, order", [("uint8", "little"), ("uint16", "big"), ("int32", "little")])
def test_raw_binary_with_header(tmp_path, labels3d, dtype, order):
    header = b"HEADER--"
    dt = np.dtype(dtype).newbyteorder("<" if order == "little" else ">")
    (tmp_path / "a.raw").write_bytes(header + labels3d.astype(dt).tobytes())
    cfg = load(ImageConfig, {"path": "a.raw", "voxel_size_um": 10.0, "raw_shape": list(labels3d.shape), "raw_dtype": dtype,
                             "raw_byte_order": order, "raw_header_bytes": len(header)}, base_dir=tmp_path)
    assert np.array_equal(read_image_config(cfg), labels3d)


def test_unknown_label_is_refused_naming_value_and_count(tmp_path, labels3d):
    image = labels3d.copy()
    image[0, 0, :3] = 9
    np.save(tmp_path / "a.npy", image)
    cfg = load(ImageConfig, {"path": "a.npy", "voxel_size_um": 10.0}, base_dir=tmp_path)
    with pytest.raises(InputError) as err:
        read_image_config(cfg)
    assert "9 (3 voxels)" in str(err.value) and "a.npy" in str(err.value)
    assert "[image.labels]" in str(err.value)


def test_label_map_from_config_is_used(tmp_path, labels3d):
    np.save(tmp_path / "a.npy", labels3d + 10)  # labels 10..14
    cfg = load(ImageConfig, {"path": "a.npy", "voxel_size_um": 10.0, "labels": {"outside": 10, "soil": 11, "pore": 12, "root": 13,
                                                          "hair": 14}}, base_dir=tmp_path)
    assert np.array_equal(read_image_config(cfg), labels3d + 10)


def _save(path, data):
    if isinstance(data, bytes):
        path.write_bytes(data)
    elif data is not None:
        np.save(path, data)
    return path


@pytest.mark.parametrize("name, data, fragment", [
    ("x.npy", np.zeros((2, 2, 2, 2), np.uint8), "must be 2D or 3D"),
    ("x.npy", np.full((2, 2), 1.5), "non-integer floats"),
    ("x.npy", b"not numpy", "not a readable .npy"),
    ("x.tif", b"II*\x00garbage", "cannot read as TIFF (no image data"),
    ("x.tiff", b"not a tiff at all", "cannot read as TIFF"),
    ("x.vtk", b"x", "unknown image format"),
    ("absent.npy", None, "image not found"),
])
def test_bad_images_are_refused(tmp_path, name, data, fragment):
    path = _save(tmp_path / name, data)
    with pytest.raises(InputError) as err:
        read_image(path)
    assert fragment in str(err.value) and path.name in str(err.value)


def test_empty_folder_is_refused(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="empty: no .tif/.tiff/.png slices"):
        read_image(tmp_path / "empty")


def test_raw_of_the_wrong_size_is_refused(tmp_path):
    (tmp_path / "a.raw").write_bytes(bytes(100))
    with pytest.raises(InputError, match="has 100 bytes, but shape .* needs 125"):
        read_image(tmp_path / "a.raw", raw_shape=(5, 5, 5))
    with pytest.raises(InputError, match="raw binary needs its shape"):
        read_image(tmp_path / "a.raw")
    with pytest.raises(InputError, match="not an integer type"):
        read_image(tmp_path / "a.raw", raw_shape=(25,), raw_dtype="float32")


def test_slices_of_different_shapes_are_refused(tmp_path):
    import tifffile

    folder = tmp_path / "s"
    folder.mkdir()
    tifffile.imwrite(folder / "a1.tif", np.zeros((3, 3), np.uint8))
    tifffile.imwrite(folder / "a2.tif", np.zeros((3, 4), np.uint8))
    with pytest.raises(InputError, match="slice shape"):
        read_image(folder)


def test_voxel_size_is_required_with_a_path_and_is_the_samples_without(tmp_path, labels3d):
    """A missing voxel size is refused (it sets every length); without a path the built-in sample's
    9 µm is what runs and what a summary echoes; another value without a path is refused."""
    from rhizofem.errors import ConfigError
    from rhizofem.imaging.sample import DEFAULT_SAMPLE_VOXEL_UM, default_sample

    np.save(tmp_path / "a.npy", labels3d)
    with pytest.raises(ConfigError, match="voxel_size_um is not"):
        load(ImageConfig, {"path": "a.npy"}, base_dir=tmp_path)
    assert load(ImageConfig, {}).voxel_size_um is None
    assert load(ImageConfig, {}).resolved().voxel_size_um == DEFAULT_SAMPLE_VOXEL_UM == default_sample()[1]
    assert load(ImageConfig, {"voxel_size_um": 9.0}).resolved().voxel_size_um == 9.0
    with pytest.raises(ConfigError, match="built-in default sample has its own"):
        load(ImageConfig, {"voxel_size_um": 10.0})
