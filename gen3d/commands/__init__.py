"""gen3d.commands."""
