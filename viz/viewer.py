"""Interactive Open3D window: a grid of shapes, keyboard paging, representation / colour switching and
trajectory playback.

Keys: N / P next / previous page; R cycle representation (points -> mesh -> voxels); C cycle colouring
(height -> sample -> uniform -> observed, the last only for completions whose sample file records observed
points: those dark grey, generated ones by height); T play / pause the trajectory (noise -> shape); G save
the trajectory as a GIF; S save a screenshot; Q or Esc quit. Mouse: Open3D's usual rotate / pan / zoom.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np

from gen3d.viz.colors import COLOR_MODES
from gen3d.viz.geometry import REPRESENTATIONS, Drawable, kind_of, to_drawable, upright
from gen3d.viz.layout import GalleryLayout, fit_to_unit_ball
from gen3d.viz.loaders import ShapeSet
from gen3d.viz.observed import observed_counts

__all__ = ["Viewer"]

log = logging.getLogger(__name__)


class Viewer:
    """Shows ``shape_set`` ``per_page`` shapes at a time in an Open3D window of ``size`` (w, h) pixels, with
    the shapes' ``up`` axis ("x" | "y" | "z") vertical.

    ``run(screenshot=..., exit_after=N)`` renders N frames, saves a screenshot and closes: the hook tests and
    scripts use to capture the window without keyboard input.
    """

    def __init__(
        self,
        shape_set: ShapeSet,
        per_page: int = 9,
        representation: str | None = None,
        color_by: str = "height",
        size: tuple[int, int] = (1024, 768),
        out_dir: str | os.PathLike = ".",
        up: str = "y",
    ):
        from gen3d.geometry.up_axis import check_up_axis

        if not shape_set.shapes:
            raise ValueError("nothing to show: the shape set is empty")
        if representation is not None and representation not in REPRESENTATIONS:
            raise ValueError(f"representation must be one of {', '.join(REPRESENTATIONS)}")
        if color_by not in COLOR_MODES:
            raise ValueError(f"color_by must be one of {', '.join(COLOR_MODES)}")
        self.observed = observed_counts(shape_set)  # (S,) observed points leading each shape, or None
        if color_by == "observed" and self.observed is None:
            raise ValueError("color_by 'observed' needs a shape set that records observed points")
        self.shapes = shape_set
        self.per_page = max(1, int(per_page))
        self.page = 0
        self.representation = representation
        self.color_by = color_by
        self.size = (int(size[0]), int(size[1]))
        self.out_dir = Path(out_dir)
        self.up = check_up_axis(up)
        self.traj_frame: int | None = None  # index into the trajectory while playing
        self.playing = False
        self._vis = None
        self._reset_camera = True

    # ---- what is on screen -----------------------------------------------------------------------------
    @property
    def n_pages(self) -> int:
        return -(-len(self.shapes.shapes) // self.per_page)

    def page_indices(self) -> list[int]:
        lo = self.page * self.per_page
        return list(range(lo, min(lo + self.per_page, len(self.shapes.shapes))))

    def _source(self, i: int):
        if self.traj_frame is not None and self.shapes.trajectory is not None:
            return self.shapes.trajectory[self.traj_frame, i]
        if self.representation == "voxels" and self.shapes.voxels is not None:
            return self.shapes.voxels[i, 0]
        return self.shapes.shapes[i]

    def drawables(self) -> list[Drawable]:
        """The current page as drawables (a shape that cannot be shown as asked shows as stored)."""
        out = []
        for i in self.page_indices():
            src = self._source(i)
            rep = self.representation if self.traj_frame is None else None
            if rep == "voxels" and kind_of(src) == "voxels":
                rep = None
            try:
                d = to_drawable(src, rep)
            except Exception as e:  # a degenerate shape must not close the window
                log.warning("shape %d cannot be shown as %s (%s); showing it as stored", i, rep, e)
                d = to_drawable(src)
            out.append(self._mark_observed(i, src, d))
        return out

    def _mark_observed(self, i: int, src, d: Drawable) -> Drawable:
        """``d`` with shape ``i``'s observed count when it draws the stored point cloud itself (not a mesh,
        voxels or a trajectory frame); colour mode ``"observed"`` paints those points."""
        stored = self.traj_frame is None and src is self.shapes.shapes[i]
        if self.observed is None or not stored or d.is_mesh or len(d.vertices) != len(src):
            return d
        return Drawable(d.vertices, None, int(self.observed[i]))

    def placed(self) -> list[tuple[int, Drawable]]:
        """The current page as ``(shape index, drawable)`` pairs in the window's y-up frame: each shape turned
        upright (its ``up`` axis vertical), fitted into the unit ball and moved onto its tile."""
        ds = self.drawables()
        layout = GalleryLayout.make(len(ds), None, (1, 1), azimuth=0.0, elevation=0.0)
        out = []
        for k, (i, d) in enumerate(zip(self.page_indices(), ds)):
            d = upright(d, self.up)
            if not len(d.vertices):
                continue
            centre, scale = fit_to_unit_ball(d.vertices)
            placed = (d.vertices - centre) * scale + layout.tile_offset(k)
            out.append((i, Drawable(placed, d.faces, d.observed)))
        return out

    def _geometries(self):
        from gen3d.viz.o3d_geometry import o3d_geometry, shape_colours

        eye = np.array([0.0, 0.0, 1.0])
        return [o3d_geometry(d, shape_colours(d, i, self.color_by), eye) for i, d in self.placed()]

    def _refresh(self) -> None:
        vis = self._vis
        vis.clear_geometries()
        for g in self._geometries():
            vis.add_geometry(g, reset_bounding_box=self._reset_camera)
        self._reset_camera = False
        idx = self.page_indices()
        title = f"page {self.page + 1}/{self.n_pages}: shapes {idx[0]}-{idx[-1]}"
        if self.traj_frame is not None and self.shapes.traj_sigmas is not None:
            title += f", sigma={float(self.shapes.traj_sigmas[self.traj_frame]):.3g}"
        print(title, flush=True)

    # ---- key actions -----------------------------------------------------------------------------------
    def next_page(self, step: int = 1) -> None:
        self.page = (self.page + step) % self.n_pages
        self._reset_camera = True

    def cycle_representation(self) -> None:
        order = list(REPRESENTATIONS)
        cur = self.representation or kind_of(self.shapes.shapes[0])
        self.representation = order[(order.index(cur) + 1) % len(order)]
        print(f"representation: {self.representation}", flush=True)

    def cycle_colour(self) -> None:
        """The next colour mode; ``"observed"`` only for a shape set that records observed points."""
        modes = [m for m in COLOR_MODES if m != "observed" or self.observed is not None]
        self.color_by = modes[(modes.index(self.color_by) + 1) % len(modes)]
        print(f"colour: {self.color_by}", flush=True)

    def toggle_trajectory(self) -> None:
        if self.shapes.trajectory is None:
            print(
                "this file holds no trajectory (sample with a trajectory callback to record one)", flush=True
            )
            return
        self.playing = not self.playing
        if self.playing and self.traj_frame is None:
            self.traj_frame = 0

    def save_trajectory_gif(self) -> Path | None:
        if self.shapes.trajectory is None:
            print("this file holds no trajectory", flush=True)
            return None
        from gen3d.viz.animate import save_animation, trajectory_frames

        frames = trajectory_frames(
            self.shapes.trajectory,
            self.shapes.traj_sigmas,
            self.page_indices(),
            color_by=self.color_by,
            up=self.up,
        )
        path = save_animation(frames, self.out_dir / f"trajectory_page{self.page}.gif")
        print(f"saved {path}", flush=True)
        return path

    def screenshot(self, path: str | os.PathLike) -> Path:
        from gen3d.atomic import atomic_path

        path = Path(path)
        with atomic_path(path, suffix=".png") as tmp:
            self._vis.capture_screen_image(str(tmp), do_render=True)
        return path

    # ---- main loop -------------------------------------------------------------------------------------
    def run(self, screenshot: str | os.PathLike | None = None, exit_after: int | None = None) -> Path | None:
        """Open the window and loop until closed; with ``exit_after`` render that many frames, save
        ``screenshot`` (if given) and close. Returns the screenshot path."""
        import open3d as o3d

        vis = o3d.visualization.VisualizerWithKeyCallback()
        if not vis.create_window("gen3d view", self.size[0], self.size[1]):
            from gen3d.viz.backend import RenderBackendError

            raise RenderBackendError("Open3D could not open a window; use `gen3d render` for headless output")
        self._vis = vis
        opt = vis.get_render_option()
        opt.background_color = np.array([1.0, 1.0, 1.0])
        opt.point_size = 4.0
        opt.mesh_show_back_face = True
        dirty = [True]

        def on(action):
            def cb(_vis):
                action()
                dirty[0] = True
                return False

            return cb

        shot = self.out_dir / "view_screenshot.png"
        keys = {
            "N": lambda: self.next_page(1), "P": lambda: self.next_page(-1), "R": self.cycle_representation,
            "C": self.cycle_colour, "T": self.toggle_trajectory, "G": self.save_trajectory_gif,
            "S": lambda: print(f"saved {self.screenshot(shot)}", flush=True), "Q": vis.close,
        }  # fmt: skip
        for k, f in keys.items():
            vis.register_key_callback(ord(k), on(f))
        frames, saved = 0, None
        try:
            while True:
                if self.playing and self.shapes.trajectory is not None:
                    self.traj_frame = min(self.traj_frame + 1, len(self.shapes.trajectory) - 1)
                    self.playing = self.traj_frame < len(self.shapes.trajectory) - 1
                    dirty[0] = True
                if dirty[0]:
                    self._refresh()
                    dirty[0] = False
                if not vis.poll_events():
                    break
                vis.update_renderer()
                frames += 1
                if exit_after is not None and frames >= exit_after:
                    if screenshot is not None:
                        saved = self.screenshot(screenshot)
                    break
        finally:
            vis.destroy_window()
            self._vis = None
        return saved
