"""gen3d.metrics."""
