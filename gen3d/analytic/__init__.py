"""gen3d.analytic."""
