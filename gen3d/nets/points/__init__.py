"""gen3d.nets.points."""
