"""gen3d.nets.voxels."""
