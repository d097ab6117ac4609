"""Reading segmented (label) images: .npy, TIFF stacks and raw binary.

A label image is an integer array, 2D ``(ny, nx)`` or 3D ``(nz, ny, nx)`` as it comes from
the file; rhizofem never reorders axes, and voxel ``[i, j, k]`` covers
``[i, i+1] × [j, j+1] × [k, k+1]`` voxel sizes from the origin (axis 0 is x for meshing).

Formats (by the path):
- ``*.npy``: a NumPy array (memory-mapped while checked).
- ``*.tif`` / ``*.tiff``: one multi-page TIFF, pages = slices along axis 0.
- a folder of ``*.tif``/``*.tiff``/``*.png`` slices, stacked in natural order of their names
  (``slice_2`` before ``slice_10``).
- ``*.raw`` / ``*.bin`` (or anything with ``raw_shape`` given): raw binary, with its shape,
  dtype, byte order and header length given in the configuration.

The label map (:class:`Labels`) says which integer is soil, pore, root, hair and outside;
an integer in the image that the map does not name is an error, never a silent default.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from rhizofem.config import param, section
from rhizofem.errors import ConfigError, InputError

__all__ = ["ImageConfig", "Labels", "check_labels", "read_image", "read_image_config"]

RAW_SUFFIXES = (".raw", ".bin")
TIFF_SUFFIXES = (".tif", ".tiff")
SLICE_SUFFIXES = TIFF_SUFFIXES + (".png",)


@dataclass(frozen=True)
class Labels:
    """Which integer of the label image is which phase (case study 3's segmentation)."""

    soil: int = param(1, "soil aggregates: the diffusion domain (partially saturated micropores)")
    pore: int = param(2, "air-filled macropores between aggregates (no diffusion)")
    root: int = param(3, "root tissue; its surface in contact with soil is the root inlet")
    hair: int = param(4, "root hairs; their surface in contact with soil is the hair inlet")
    outside: int = param(0, "air around the sample tube, outside the sample (no diffusion)")

    def __post_init__(self):
        values = self.as_dict()
        if len(set(values.values())) != len(values):
            raise ConfigError(
                f"two phases share one label value ({values}). Fix: give each phase its own integer."
            )

    def as_dict(self) -> dict[str, int]:
        return {"soil": self.soil, "pore": self.pore, "root": self.root, "hair": self.hair,
                "outside": self.outside}


@dataclass(frozen=True)
class ImageConfig:
    """A segmented image on disk: where it is, its voxel size, and its labels."""

    path: Path | None = param(None, "label image: .npy, .tif/.tiff stack, folder of slices, or .raw/.bin",
                              example="sample.npy")
    voxel_size_um: float | None = param(
        None, "edge length of a (cubic) voxel in micrometres; required with path (without path the "
              "built-in default sample's own 9 µm, which may be written here too)", gt=0, example=10.0)
    raw_shape: tuple[int, ...] | None = param(
        None, "raw binary only: array shape, slowest axis first, e.g. [nz, ny, nx]", ge=1,
        example=[100, 100, 100])
    raw_dtype: str = param("uint8", "raw binary only: integer dtype of a voxel (uint8, uint16, int32, ...)")
    raw_byte_order: Literal["little", "big"] = param("little", "raw binary only: byte order")
    raw_header_bytes: int = param(0, "raw binary only: bytes to skip before the voxels", ge=0)
    labels: Labels = section(Labels, "label value of each phase in the image")

    def __post_init__(self):
        if self.path is not None and self.voxel_size_um is None:
            raise ConfigError(f"path = '{self.path}' is set but voxel_size_um is not: the voxel size sets every "
                              "length and area of the run. Fix: add voxel_size_um (µm) to [image].")
        if self.path is None and self.voxel_size_um is not None:
            from rhizofem.imaging.sample import DEFAULT_SAMPLE_VOXEL_UM

            if self.voxel_size_um != DEFAULT_SAMPLE_VOXEL_UM:
                raise ConfigError(
                    f"voxel_size_um = {self.voxel_size_um} without path: the built-in default sample has its own "
                    f"{DEFAULT_SAMPLE_VOXEL_UM} µm voxels. Fix: remove voxel_size_um, or give the image's path.")

    def resolved(self) -> ImageConfig:
        """This section as it runs: without ``path``, the built-in sample's voxel size filled in."""
        if self.path is None and self.voxel_size_um is None:
            from rhizofem.imaging.sample import DEFAULT_SAMPLE_VOXEL_UM

            return dataclasses.replace(self, voxel_size_um=DEFAULT_SAMPLE_VOXEL_UM)
        return self


def read_image_config(cfg: ImageConfig) -> np.ndarray:
    """Read the image that ``cfg`` names and check it against its label map."""
    if cfg.path is None:
        raise ConfigError("[image] path is not set. Fix: give the label image's path.")
    image = read_image(cfg.path, raw_shape=cfg.raw_shape, raw_dtype=cfg.raw_dtype,
                       raw_byte_order=cfg.raw_byte_order, raw_header_bytes=cfg.raw_header_bytes)
    check_labels(image, cfg.labels.as_dict(), source=str(cfg.path))
    return image


def read_image(path: str | Path, *, raw_shape: tuple[int, ...] | None = None,
               raw_dtype: str = "uint8", raw_byte_order: str = "little",
               raw_header_bytes: int = 0) -> np.ndarray:
    """Read a 2D or 3D integer label image (see the module docstring for the formats)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: image not found. Fix: correct [image] path.")
    if path.is_dir():
        image = _read_slice_folder(path)
    elif path.suffix.lower() == ".npy":
        try:
            image = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError, EOFError) as err:
            raise InputError(f"{path}: not a readable .npy array ({err}). Fix: re-save it with numpy.save.") from None
    elif path.suffix.lower() in TIFF_SUFFIXES:
        image = _read_tiff(path)
    elif path.suffix.lower() in RAW_SUFFIXES or raw_shape is not None:
        image = _read_raw(path, raw_shape, raw_dtype, raw_byte_order, raw_header_bytes)
    else:
        raise InputError(
            f"{path}: unknown image format '{path.suffix}'. Fix: use .npy, .tif/.tiff, a folder of "
            "slices, or raw binary (.raw/.bin with [image] raw_shape and raw_dtype).")
    return _as_label_array(np.asarray(image), path)


def _as_label_array(image: np.ndarray, path: Path) -> np.ndarray:
    if image.ndim not in (2, 3):
        raise InputError(f"{path}: a label image must be 2D or 3D, this one has shape {image.shape}. "
                         "Fix: squeeze or slice the extra axes before saving.")
    if min(image.shape) < 1:
        raise InputError(f"{path}: the image is empty (shape {image.shape}).")
    if image.dtype.kind == "b":
        image = image.astype(np.uint8)
    if image.dtype.kind == "f":
        if not np.all(np.isfinite(image)) or np.any(image != np.round(image)):
            raise InputError(f"{path}: a label image must hold integers; this one holds non-integer "
                             "floats. Fix: segment it first (one integer per phase).")
        image = image.astype(np.int64)
    if image.dtype.kind not in "iu":
        raise InputError(f"{path}: labels must be integers, got dtype {image.dtype}.")
    return np.ascontiguousarray(image)


def _read_tiff(path: Path) -> np.ndarray:
    import tifffile

    try:
        image = tifffile.imread(path)
    except Exception as err:  # noqa: BLE001 - any decoding failure is a bad input file
        raise InputError(f"{path}: cannot read as TIFF ({err}).") from None
    if image.size == 0:  # tifffile reads a TIFF header with broken pages as an empty array
        raise InputError(f"{path}: cannot read as TIFF (no image data: a truncated or corrupt file).")
    return image


def _natural_key(p: Path):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def _read_slice_folder(folder: Path) -> np.ndarray:
    files = sorted((p for p in folder.iterdir() if p.suffix.lower() in SLICE_SUFFIXES), key=_natural_key)
    if not files:
        raise InputError(f"{folder}: no .tif/.tiff/.png slices in this folder.")
    slices = []
    for f in files:
        if f.suffix.lower() in TIFF_SUFFIXES:
            s = _read_tiff(f)
        else:
            from PIL import Image

            try:
                s = np.asarray(Image.open(f))
            except Exception as err:  # noqa: BLE001
                raise InputError(f"{f}: cannot read slice ({err}).") from None
        if slices and s.shape != slices[0].shape:
            raise InputError(f"{f}: slice shape {s.shape} differs from {files[0].name}'s "
                             f"{slices[0].shape}. Fix: all slices of a stack must have one shape.")
        slices.append(s)
    return np.stack(slices)


def _read_raw(path: Path, shape, dtype: str, byte_order: str, header: int) -> np.ndarray:
    if shape is None:
        raise InputError(f"{path}: raw binary needs its shape. Fix: set [image] raw_shape = [nz, ny, nx].")
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise InputError(f"{path}: unknown raw_dtype '{dtype}'. Fix: e.g. uint8, uint16, int32.") from None
    if dt.kind not in "iu":
        raise InputError(f"{path}: raw_dtype '{dtype}' is not an integer type. Fix: labels are integers.")
    dt = dt.newbyteorder("<" if byte_order == "little" else ">")
    expected = int(np.prod(shape)) * dt.itemsize + header
    size = path.stat().st_size
    if size != expected:
        raise InputError(
            f"{path}: file has {size} bytes, but shape {tuple(shape)} of {dtype} with a {header}-byte "
            f"header needs {expected}. Fix: check raw_shape, raw_dtype and raw_header_bytes.")
    data = np.fromfile(path, dtype=dt, offset=header).reshape(shape)
    return data.astype(data.dtype.newbyteorder("="))


def check_labels(image: np.ndarray, labels: Mapping[str, int], source: str = "image") -> None:
    """Refuse an image holding an integer that ``labels`` does not name."""
    present, counts = np.unique(np.asarray(image), return_counts=True)
    known = set(int(v) for v in labels.values())
    unknown = [(int(v), int(c)) for v, c in zip(present, counts, strict=True) if int(v) not in known]
    if unknown:
        listed = ", ".join(f"{v} ({c} voxels)" for v, c in unknown)
        names = ", ".join(f"{k} = {v}" for k, v in labels.items())
        raise InputError(
            f"{source}: label value(s) {listed} are not in the label map ({names}). "
            "Fix: map them in [image.labels], or relabel the image.")
