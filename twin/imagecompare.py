"""Compare a render with an approved baseline, tolerant of GL drivers.

Mesa's llvmpipe and GPU drivers differ on edge anti-aliasing, rasterisation of
silhouette pixels and the last bit of shading, but agree on what is drawn where.
So the images are first averaged over small blocks (which dissolves one-pixel
edge differences) and the score is the fraction of blocks whose colour differs by
more than a threshold: a moved camera, a missing layer or a wrong colour moves
whole regions and scores far above any driver difference.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

DEFAULT_BLOCK = 4
DEFAULT_THRESHOLD = 20.0
#: Fraction of differing blocks allowed; driver noise measured well below 1 %.
DEFAULT_TOLERANCE = 0.02


@dataclass
class Comparison:
    """Result of comparing two images.

    score : fraction of blocks (0..1) whose mean colour differs by > threshold.
    mean_abs : mean absolute difference over all channels (0..255).
    diff : (h, w, 3) uint8 image showing where they differ (red), for reports.
    """

    score: float
    mean_abs: float
    diff: np.ndarray
    tolerance: float

    @property
    def passed(self) -> bool:
        return self.score <= self.tolerance


def _blocks(image: np.ndarray, block: int) -> np.ndarray:
    h, w = image.shape[0] // block * block, image.shape[1] // block * block
    img = image[:h, :w, :3].astype(np.float32)
    return img.reshape(h // block, block, w // block, block, 3).mean(axis=(1, 3))


def compare(
    actual: np.ndarray,
    expected: np.ndarray,
    tolerance: float = DEFAULT_TOLERANCE,
    block: int = DEFAULT_BLOCK,
    threshold: float = DEFAULT_THRESHOLD,
) -> Comparison:
    """Score ``actual`` against ``expected`` (both (h, w, 3|4) uint8)."""
    if actual.shape[:2] != expected.shape[:2]:
        diff = np.zeros((*expected.shape[:2], 3), dtype=np.uint8)
        diff[..., 0] = 255
        return Comparison(1.0, 255.0, diff, tolerance)
    a, e = _blocks(actual, block), _blocks(expected, block)
    delta = np.abs(a - e).max(axis=2)
    bad = delta > threshold
    score = float(bad.mean()) if bad.size else 0.0
    mean_abs = float(np.abs(actual[..., :3].astype(np.int16) - expected[..., :3]).mean())
    gray = expected[..., :3].mean(axis=2).astype(np.uint8)
    diff = np.repeat((gray // 3 + 120)[..., None], 3, axis=2)
    mask = np.repeat(np.repeat(bad, block, axis=0), block, axis=1)
    hh, ww = mask.shape
    diff[:hh, :ww][mask] = (230, 30, 30)
    return Comparison(score, mean_abs, diff, tolerance)


def read_png(path) -> np.ndarray:
    """(h, w, 3) uint8 image from a PNG file, top row first."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.format != "PNG":
                raise OSError(f"{path}: not a readable PNG file")
            arr = np.asarray(img.convert("RGB"))
    except (UnidentifiedImageError, FileNotFoundError, ValueError):
        raise OSError(f"{path}: not a readable PNG file") from None
    return np.ascontiguousarray(arr[:, :, :3])
