"""gen3d.samplers."""
