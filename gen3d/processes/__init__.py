"""gen3d.processes."""
