"""Per-mesh report: size, watertightness, volume, bounds."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["MeshReport", "mesh_report"]


@dataclass(frozen=True)
class MeshReport:
    """Facts about one exported mesh. ``volume`` is the enclosed volume (None unless watertight)."""

    vertices: int
    faces: int
    watertight: bool
    components: int
    area: float
    volume: float | None
    bounds_min: tuple[float, float, float]
    bounds_max: tuple[float, float, float]

    def to_dict(self) -> dict:
        return asdict(self)

    def line(self) -> str:
        """One human-readable line."""
        vol = f"{self.volume:.4g}" if self.volume is not None else "-"
        return (
            f"{self.vertices} vertices, {self.faces} faces, "
            f"{'watertight' if self.watertight else 'NOT watertight'}, {self.components} component(s), "
            f"area {self.area:.4g}, volume {vol}"
        )


def mesh_report(mesh) -> MeshReport:
    """Report on a ``trimesh.Trimesh``."""
    watertight = bool(mesh.is_watertight)
    n_comp = int(len(mesh.split(only_watertight=False))) if len(mesh.faces) else 0
    lo, hi = mesh.bounds if len(mesh.vertices) else ((0.0,) * 3, (0.0,) * 3)
    return MeshReport(
        vertices=int(len(mesh.vertices)),
        faces=int(len(mesh.faces)),
        watertight=watertight,
        components=n_comp,
        area=float(mesh.area),
        volume=float(mesh.volume) if watertight else None,
        bounds_min=tuple(float(v) for v in lo),
        bounds_max=tuple(float(v) for v in hi),
    )
