"""gen3d.export."""
