"""Import options for IFC files, validated once and split into what changes the
geometry (part of the cache key) and what only changes placement or supervision.

Options come from scene files (TOML) and the CLI, so every value is checked and a
bad one gives one clear line instead of a failure deep inside the worker.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from typing import Any

#: Kernels tried in order; IfcOpenShell 0.9 builds hybrids on the fly from names
#: like ``hybrid-cgal-simple-opencascade`` (CGAL first, OpenCASCADE per element
#: where CGAL fails), which is about 5x faster on plain extrusions (PERFORMANCE.md).
DEFAULT_KERNEL = "hybrid-cgal-simple-opencascade"
FALLBACK_KERNEL = "opencascade"


def default_threads() -> int:
    """Every core this process may run on (a container's or ``taskset``'s share,
    not the machine's): the kernel's threads take what the fast path leaves."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(64, cores))


class OptionError(ValueError):
    """An import option with a wrong name, type or range."""


#: The test-hook options (GlobalId lists), passed to the worker as they are.
TEST_HOOKS = ("test_hang", "test_crash", "test_slow_booleans", "test_garble", "test_fastpath_error",
              "test_helper_crash", "test_helper_bloat")
#: ... the hooks that act inside the fast path (their elements stay on it)
FAST_PATH_HOOKS = ("test_fastpath_error", "test_helper_crash", "test_helper_bloat")


@dataclass(frozen=True)
class IfcOptions:
    """Everything that steers one IFC import.

    Attributes
    ----------
    threads : geometry threads in the worker (default ``min(4, cpu_count)``).
    kernel : IfcOpenShell geometry library name.
    spaces : also triangulate IfcSpace for the hidden spaces layer.
    element_timeout : seconds without any finished element before the worker is
        judged stuck, killed, and the stuck element abandoned with a warning.
    time_budget : optional limit (s) for the whole geometry run; what is not
        done then is listed as skipped.
    memory_limit_mb : worker resident memory that counts as a runaway element.
    max_restarts : how many worker restarts isolation may use before giving up
        on the remaining elements.
    cache : read and write the import cache.
    at : ``[E, N, H, rotation_deg]`` in the scene CRS, used when the file has
        no map conversion: it beats IfcSite latitude/longitude (metre-level at
        best); with ``override_georef`` it beats every georeferencing.
    override_georef : place with ``at`` even when the file has an
        IfcMapConversion / ePSet_MapConversion (the placement dialog's "Ignore
        the file's own georeferencing").
    """

    threads: int = field(default_factory=default_threads)
    kernel: str = DEFAULT_KERNEL
    spaces: bool = True
    element_timeout: float = 30.0
    time_budget: float | None = None
    memory_limit_mb: float | None = None
    max_restarts: int = 12
    cache: bool = True
    at: tuple[float, ...] | None = None
    override_georef: bool = False
    #: mesh common representations with CityTwin's own numpy fast path
    #: (``importers.ifc.fastpath``); false: every element to the kernel.
    fastpath: bool = True
    #: processes meshing the fast path (the worker and forked helpers; None:
    #: every core the worker may run on, see ``importers.ifc.fastpath.spread``)
    processes: int | None = None
    #: Test hooks (not for users): GlobalIds whose geometry makes the worker
    #: hang or crash, to exercise the watchdog without a pathological file.
    test_hang: tuple[str, ...] = ()
    test_crash: tuple[str, ...] = ()
    #: ... hang only while openings are being cut (a boolean explosion, A5)
    test_slow_booleans: tuple[str, ...] = ()
    #: ... write a damaged message to the pipe (a writer that died mid-send)
    test_garble: tuple[str, ...] = ()
    #: ... raise inside the fast path's meshing (the kernel must then take them)
    test_fastpath_error: tuple[str, ...] = ()
    #: ... kill the fast-path helper process whose batch holds one of them
    test_helper_crash: tuple[str, ...] = ()
    #: ... make the fast-path helper whose batch holds one of them take
    #: :data:`~importers.ifc.fastpath.spread.BLOAT_MB` and wait (the runner's
    #: memory watchdog must stop that helper, not the import)
    test_helper_bloat: tuple[str, ...] = ()

    @classmethod
    def from_mapping(cls, options: dict[str, Any] | None) -> IfcOptions:
        """Validate a scene-file / CLI option mapping (unknown keys are errors)."""
        opts = dict(options or {})
        known = {f.name for f in fields(cls)}
        # Keys other importers or the scene loader use are ignored, not errors.
        for shared in ("layer", "kind", "name"):
            opts.pop(shared, None)
        unknown = sorted(set(opts) - known)
        if unknown:
            raise OptionError(
                f"unknown IFC option(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}"
            )
        kw: dict[str, Any] = {}
        for key in ("threads", "processes"):
            if key in opts:
                kw[key] = _int(opts[key], key, 1, 64)
        if "kernel" in opts:
            if not isinstance(opts["kernel"], str) or not opts["kernel"]:
                raise OptionError("option 'kernel' must be a geometry library name")
            kw["kernel"] = opts["kernel"]
        for key in ("spaces", "cache", "override_georef", "fastpath"):
            if key in opts:
                if not isinstance(opts[key], bool):
                    raise OptionError(f"option {key!r} must be true or false")
                kw[key] = opts[key]
        if "element_timeout" in opts:
            kw["element_timeout"] = _float(opts["element_timeout"], "element_timeout", 0.1)
        for key in ("time_budget", "memory_limit_mb"):
            if opts.get(key) is not None:
                kw[key] = _float(opts[key], key, 0.1)
        if "max_restarts" in opts:
            kw["max_restarts"] = _int(opts["max_restarts"], "max_restarts", 0, 1000)
        if opts.get("at") is not None:
            kw["at"] = _at(opts["at"])
        for key in TEST_HOOKS:
            if key in opts:
                value = opts[key]
                kw[key] = (value,) if isinstance(value, str) else tuple(str(v) for v in value)
        return cls(**kw)

    def geometry_key(self) -> dict[str, Any]:
        """The options that change what the worker produces (part of the cache key)."""
        return {"kernel": self.kernel, "spaces": self.spaces, "fastpath": self.fastpath}

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _int(value: Any, name: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or int(value) != value:
        raise OptionError(f"option {name!r} must be a whole number, got {value!r}")
    if not lo <= int(value) <= hi:
        raise OptionError(f"option {name!r} must be in {lo}..{hi}, got {value!r}")
    return int(value)


def _float(value: Any, name: str, lo: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= lo:
        raise OptionError(f"option {name!r} must be a number >= {lo}, got {value!r}")
    return float(value)


def _at(value: Any) -> tuple[float, ...]:
    """``E,N[,H[,rotation]]`` as a list or a comma-separated string (``--at``)."""
    if isinstance(value, str):
        try:
            value = [float(v) for v in value.split(",") if v.strip()]
        except ValueError:
            raise OptionError(f"option 'at' must be E,N[,H[,rotation]], got {value!r}") from None
    try:
        nums = [float(v) for v in value]
    except (TypeError, ValueError):
        raise OptionError(f"option 'at' must be E,N[,H[,rotation]], got {value!r}") from None
    if not 2 <= len(nums) <= 4 or not all(abs(v) < 1e9 for v in nums):
        raise OptionError(f"option 'at' must be E,N[,H[,rotation]] (finite), got {value!r}")
    nums += [0.0] * (4 - len(nums))
    return tuple(nums)
