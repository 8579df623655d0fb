"""gen3d: physics-based generative models for 3D point clouds and voxel grids.

Importing ``gen3d`` has no side effects: no seeding, no torch flags, no heavy optional imports (not even
torch). ``gen3d.load_denoiser(path)`` (:func:`gen3d.models.load_denoiser`) is imported on first use and
never imports Lightning.
"""

__version__ = "0.1.0"

__all__ = ["__version__", "load_denoiser"]

_LAZY = {"load_denoiser": "gen3d.models"}


def __getattr__(name: str):
    """Lazy public entry points (PEP 562): resolved on first access, so ``import gen3d`` stays light."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'gen3d' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
