"""gen3d.training."""
