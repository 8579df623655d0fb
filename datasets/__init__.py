"""gen3d.datasets: adapters for mesh, point and voxel collections, preprocessing cache, synthetic collection."""
