"""gen3d.nets."""
