"""A streamed, tiled layer in a :class:`~twin.render.view.SceneView`.

Per camera change :meth:`TileStream.update` picks the tiles the camera sees
(frustum planes against tile boxes, vectorised) and their detail by distance
(full detail within ``near`` metres, one block per building up to ``far``),
and asks a thread pool for the missing ones. :meth:`TileStream.pump`, called
on the GUI thread, turns finished reads into actors within a time budget (an
add costs a few ms; the budget keeps one pump under ~30 ms) and evicts the
least recently drawn tiles once the meshes held pass ``memory_bytes`` (within
the same budget: a burst of evictions is spread over several pumps).
Each tile is a :class:`~twin.layer.Layer` with its own feature table, so
picking a streamed building gives its id and attributes like any layer.
"""

from __future__ import annotations

import os
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import pyvista as pv

from twin.layer import Layer
from twin.render.preview import rgb_actor
from twin.style import HIGHLIGHT_RGB, cell_colors
from twin.tiles import TiledSource, Tiles, box_distance, choose_detail, frustum_visible

COLOR_ARRAY = "citytwin_rgb"
#: (least, most) share of a pump's budget that eviction gets: the least when the
#: adds spent it all, so memory is given back while tiles keep arriving (a pump
#: stays within 1.2x its budget); the most, so that a burst of evictions (the
#: overview left for a street) is spread over many pumps of a few ms each
EVICT_SHARE = (0.2, 0.4)
Key = tuple[int, int]  # (tile, detail)


def mesh_bytes(layer: Layer) -> int:
    """Bytes the tile's mesh holds (points, cells, cell arrays)."""
    return int(layer.mesh.GetActualMemorySize()) * 1024


def reading_threads(blocking: bool) -> int:
    """Threads reading tiles: two where nothing waits for the GUI thread
    (headless frames wait for their tiles), else one fewer than the cores, at
    most two. The reads are partly Python and hold the GIL: on two cores a
    second reader left the GUI thread's wall-time gaps beyond the paint at
    26-39 ms during a pan where one reader gave 22-28 ms, as many tiles
    added, more frames (bench/RESULTS.md, ``bench_stream_stall.py`` ``w1``)."""
    if blocking:
        return 2
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, min(2, cores - 1))


class TileStream:
    """Streams the tiles of one layer into ``view``'s plotter."""

    def __init__(
        self,
        view,
        tiles: Tiles,
        boxes: np.ndarray,
        read: Callable[[int, int], Layer],
        *,
        near: float = 600.0,
        mid: float = 2500.0,
        far: float = float("inf"),
        memory_bytes: int = 1 << 30,
        workers: int | None = None,
        name: str = "stream",
        blocking: bool = False,
    ) -> None:
        """``boxes`` are the (T, 6) scene-local boxes of ``tiles``; ``read(t,
        detail)`` makes a tile's layer (called in worker threads)."""
        self.view, self.tiles, self.boxes, self._read = view, tiles, boxes, read
        self.near, self.mid, self.far = near, mid, far
        self.memory_bytes, self.name = memory_bytes, name
        workers = workers or reading_threads(blocking)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tile")
        self._pending: dict[Key, Future] = {}
        #: resident tiles, least recently drawn first
        self.resident: OrderedDict[Key, tuple[Layer, object]] = OrderedDict()
        #: the drawn (coloured) shallow copy of each resident tile's mesh
        self._meshes: dict[Key, pv.PolyData] = {}
        self.wanted: dict[int, int] = {}
        self.bytes = 0
        self.errors: list[str] = []
        self.max_add_s = 0.0
        self._add_s = 0.0  # running mean of an add (what the next one will take)
        self.style = None
        self.visible = True
        self._show: set[Key] = set()
        #: ids of the selected features (highlighted in any tile, at any detail)
        self._selected = np.empty(0, dtype=object)
        self._lit: set[Key] = set()  # tiles drawing some of them
        self.blocking = blocking
        self._camera_mtime = -1
        view.streams.append(self)
        renderer = view.plotter.renderer
        # before the view fits the clipping range (priority 0): tiles first ...
        self._tag = renderer.AddObserver("StartEvent", self._before_frame, 1.0)
        # ... after it: the near plane must not cut the tile the eye stands in
        self._near_tag = renderer.AddObserver("StartEvent", self._keep_near, -1.0)

    @classmethod
    def from_source(cls, view, source: TiledSource, **kwargs) -> TileStream:
        """A stream of a scene's :class:`~twin.tiles.TiledSource`."""
        stream = cls(view, source.tiles, source.boxes, source.read, name=source.name, **kwargs)
        stream.style, stream.visible = source.style, source.visible
        return stream

    def _before_frame(self, *_: object) -> None:
        """Each frame: when the camera moved, choose tiles again (cheap); a
        blocking stream (headless: no event loop to pump later) also waits for
        them and adds them now, so every frame it draws is complete."""
        cam = self.view.plotter.renderer.GetActiveCamera()
        if cam.GetMTime() == self._camera_mtime and not self._pending:
            return
        self._camera_mtime = cam.GetMTime()
        if self.blocking:
            self.settle()
        else:
            self.update()

    # -- choosing --------------------------------------------------------------
    def select(self) -> np.ndarray:
        """(T,) detail each tile needs for the current camera (-1: not drawn)."""
        if not self.visible:  # hidden: nothing wanted, nothing read
            return np.full(len(self.boxes), -1)
        renderer = self.view.plotter.renderer
        cam = renderer.GetActiveCamera()
        w, h = renderer.GetSize()
        planes = np.zeros(24)
        cam.GetFrustumPlanes(w / max(h, 1), planes)
        visible = frustum_visible(planes[:16], self.boxes)  # the sides; distance does the rest
        dist = box_distance(np.asarray(cam.GetPosition()), self.boxes)
        return choose_detail(visible, dist, self.near, self.far, self.mid)

    def update(self) -> int:
        """Choose the tiles for the camera, show/hide resident ones, queue missing
        reads; returns how many reads are outstanding."""
        detail = self.select()
        self.wanted = {int(t): int(detail[t]) for t in np.flatnonzero(detail >= 0)}
        self._refresh_visibility()
        for key, future in list(self._pending.items()):  # the camera moved on: drop
            if self.wanted.get(key[0]) != key[1] and future.cancel():  # reads not begun
                del self._pending[key]
        for t, d in self.wanted.items():
            key = (t, d)
            if key in self.resident:
                self.resident.move_to_end(key)
            elif key not in self._pending:
                self._pending[key] = self._pool.submit(self._read, t, d)
        return len(self._pending)

    def _refresh_visibility(self) -> None:
        """Show each wanted tile at its detail, or while that is loading at the
        finest coarser detail already resident (never a hole where it was drawn)."""
        by_tile: dict[int, list[int]] = {}
        for t, d in self.resident:
            by_tile.setdefault(t, []).append(d)
        show: set[Key] = set()
        for t, want in self.wanted.items():
            have = [d for d in by_tile.get(t, ()) if d >= want]
            if have:
                show.add((t, min(have)))
        self._show = show if self.visible else set()
        for key, (_, actor) in self.resident.items():
            actor.SetVisibility(key in show)

    def _shows(self, key: Key) -> bool:
        return key in self._show

    def _keep_near(self, *_: object) -> None:
        """The view fits near to per-feature boxes of its layers; a tile is one
        box, and one round the eye says nothing of where its buildings are, so
        near comes in to the nearest drawn tile (within the depth-buffer ratio)."""
        drawn = [k[0] for k, (_, a) in self.resident.items() if a.GetVisibility()]
        if not drawn:
            return
        cam = self.view.plotter.renderer.GetActiveCamera()
        near, far = cam.GetClippingRange()
        nearest = float(box_distance(np.asarray(cam.GetPosition()), self.boxes[drawn]).min())
        if nearest < near:
            cam.SetClippingRange(max(nearest * 0.9, far * 1e-5, 0.05), far)

    # -- GUI thread --------------------------------------------------------------
    def pump(self, budget_s: float = 0.025) -> int:
        """Add finished tiles as actors while the next one fits in ``budget_s``
        (by the adds' running cost; one add at least), then evict what is over
        the ceiling; returns how many were added."""
        start = time.perf_counter()
        end = start + budget_s
        if self.bytes > self.memory_bytes:  # eviction's least share stays free
            end -= EVICT_SHARE[0] * budget_s
        added = 0
        for key in [k for k, f in self._pending.items() if f.done()]:
            if added and time.perf_counter() + self._add_s > end:
                break
            future = self._pending.pop(key)
            try:
                layer = future.result()
            except Exception as exc:  # one bad tile must not stop the stream
                self.errors.append(f"{self.name} tile {key[0]}: {exc}")
                continue
            t0 = time.perf_counter()
            self._add(key, layer)
            took = time.perf_counter() - t0
            self.max_add_s = max(self.max_add_s, took)
            self._add_s += 0.25 * (took - self._add_s)
            added += 1
        if added:
            self._refresh_visibility()
        if self.bytes > self.memory_bytes:  # also what the last pumps left to drop
            now = time.perf_counter()
            left = start + budget_s - now
            self.evict(now + min(max(left, EVICT_SHARE[0] * budget_s), EVICT_SHARE[1] * budget_s))
        return added

    def _add(self, key: Key, layer: Layer) -> None:
        if self.style is not None:
            layer.style = self.style
        layer.info.setdefault("tile_layer", layer.name)
        layer.info["stream"] = self.name  # whose tile it is (selection, layers panel)
        layer.name = self.name  # what the inspector and status bar call it
        mesh = layer.mesh.copy(deep=False)
        mesh.cell_data[COLOR_ARRAY] = self._colors(key, layer)
        actor = rgb_actor(mesh, COLOR_ARRAY)
        actor.GetProperty().SetOpacity(layer.style.opacity)
        # Tile names are unique among resident tiles, so pyvista need not look for
        # an actor of the same name: that search walks every actor (O(n) per tile,
        # 1.8 s for 400 tiles against 0.07 s without it).
        self.view.plotter.add_actor(actor, name=self._actor_name(key),
                                    reset_camera=False, pickable=True, render=False,
                                    remove_existing_actor=False)
        self.resident[key] = (layer, actor)
        self._meshes[key] = mesh
        self.bytes += mesh_bytes(layer)

    def evict(self, deadline: float = float("inf")) -> int:
        """Drop least recently drawn tiles not drawn now until under the ceiling,
        or until ``deadline`` (``time.perf_counter``) has passed: the rest go in
        the next pumps. Dropping a tile frees its arrays and GL buffers on this
        thread (~0.3 ms; in the window each release makes the GL context current
        through a Python callback), and leaving the overview for a street drops
        hundreds at once (150 ms of CPU on the 1M city in one pump before the
        deadline, ``bench/bench_stream_stall.py --from-overview``)."""
        dropped = 0
        for key in list(self.resident):
            if self.bytes <= self.memory_bytes or time.perf_counter() > deadline:
                break
            if self._shows(key):
                continue
            layer, actor = self.resident.pop(key)
            self._lit.discard(key)
            self._drop_actor(key, actor)
            self.view._pick_cache.discard(self._meshes.pop(key))
            self.bytes -= mesh_bytes(layer)
            dropped += 1
        return dropped

    def _actor_name(self, key: Key) -> str:
        return f"{self.name}:{key[0]}:{key[1]}"

    def _drop_actor(self, key: Key, actor) -> None:
        """Take a tile's actor out of the renderer, the mirror of its add. pyvista's
        ``remove_actor`` also looks for the actor's scalar bars and labels and
        refits bounding axes (none of which a tile has): ~40 us a tile against
        ~3 us. pyvista >= 0.45 reads ``actors`` from the renderer's own prop
        collection; an older one keeps a name -> actor dict, emptied here too."""
        renderer = self.view.plotter.renderer
        renderer.RemoveActor(actor)
        names = getattr(renderer, "_actors", None)
        if isinstance(names, dict):
            names.pop(self._actor_name(key), None)

    def wait(self, timeout: float = 60.0) -> None:
        """Block until every queued read has finished (tests and benchmarks)."""
        deadline = time.perf_counter() + timeout
        for future in list(self._pending.values()):
            future.exception(timeout=max(0.0, deadline - time.perf_counter()))

    def settle(self, timeout: float = 60.0) -> None:
        """update + wait + pump until nothing is outstanding (headless use)."""
        self.update()
        self.wait(timeout)
        while self._pending:
            self.pump(budget_s=float("inf"))
            self.wait(timeout)
        self.pump(budget_s=float("inf"))

    # -- as a layer: visibility, style, selection ----------------------------------------
    def set_visible(self, on: bool) -> None:
        """Show or hide every tile; while hidden the stream reads nothing (pending
        reads not begun are dropped) and its tiles may be evicted first."""
        self.visible = bool(on)
        self._camera_mtime = -1  # the next frame chooses again
        self.update()

    def set_style(self, style) -> None:
        """Restyle the resident tiles and every tile still to come (one shared
        :class:`~twin.style.Style`: a fixed ``clim`` keeps one scale across tiles)."""
        self.style = style
        for key, (layer, actor) in self.resident.items():
            layer.style = style
            actor.GetProperty().SetOpacity(style.opacity)
            self._repaint(key)

    def highlight(self, ids, bounds: np.ndarray | None = None) -> None:
        """Draw the features with these ids in the highlight colour, in whichever
        tiles hold them now or load later (ids survive a change of detail).
        ``bounds``, their (k, 6) scene-local feature bounds, narrows the search to
        the tiles whose reach holds their centres."""
        self._selected = np.asarray(list(ids), dtype=object)
        keys = list(self.resident)
        c = None if bounds is None else np.column_stack(
            [bounds[:, 0] + bounds[:, 1], bounds[:, 2] + bounds[:, 3]]) / 2
        if c is not None and len(c) and np.isfinite(c).all():
            b = self.boxes
            near = ((c[:, None, 0] >= b[:, 0]) & (c[:, None, 0] <= b[:, 3])
                    & (c[:, None, 1] >= b[:, 1]) & (c[:, None, 1] <= b[:, 4])).any(axis=0)
            keys = [k for k in keys if near[k[0]]]
        hits = {k for k in keys if self._hits(self.resident[k][0]).any()}
        for key in hits | self._lit:
            self._repaint(key)

    def _hits(self, layer: Layer) -> np.ndarray:
        if not len(self._selected):
            return np.zeros(len(layer.features), dtype=bool)
        return np.isin(layer.features.ids, self._selected)

    def _colors(self, key: Key, layer: Layer) -> np.ndarray:
        """The tile's cell colours under its style, selected features highlighted."""
        colors = cell_colors(layer.mesh.cell_data, layer.cell_features, layer.features,
                             layer.style)
        hit = self._hits(layer)
        if hit.any():
            colors = np.array(colors, dtype=np.uint8)
            colors[hit[layer.cell_features]] = HIGHLIGHT_RGB
            self._lit.add(key)
        else:
            self._lit.discard(key)
        return colors

    def _repaint(self, key: Key) -> None:
        mesh = self._meshes[key]
        mesh.cell_data[COLOR_ARRAY][:] = self._colors(key, self.resident[key][0])
        mesh.Modified()

    # -- picking -------------------------------------------------------------------
    def pick_entries(self) -> list[tuple[object, pv.PolyData]]:
        """(actor, drawn mesh) of the drawn tiles, for :func:`picking.pick_ray`."""
        return [
            (actor, self._meshes[key])
            for key, (_, actor) in self.resident.items()
            if actor.GetVisibility()
        ]

    def layer_of(self, actor) -> Layer | None:
        """The tile layer an actor draws, or None."""
        return next((la for la, a in self.resident.values() if a is actor), None)

    def close(self) -> None:
        """Stop reading and remove every tile actor."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        self.view.plotter.renderer.RemoveObserver(self._tag)
        self.view.plotter.renderer.RemoveObserver(self._near_tag)
        for key, (_, actor) in self.resident.items():
            self._drop_actor(key, actor)
        self.resident.clear()
        self._meshes.clear()
        self.bytes = 0
        if self in self.view.streams:
            self.view.streams.remove(self)
