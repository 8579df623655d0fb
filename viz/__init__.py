"""gen3d.viz: Open3D viewer, offscreen renderer, galleries and trajectory animations (imports open3d lazily)."""
