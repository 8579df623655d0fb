"""gen3d.metrics: evaluation of generated shape sets (PointFlow protocol).

Point clouds: Chamfer and EMD (single pairs and all pairs), MMD / COV / 1-NNA on any distance matrix (with
1-NNA's chance level, scored on equal-size sets), bootstrap intervals from the distance matrices, occupancy
JSD (PointFlow's binning or gen3d's cells), memorisation (novelty) score, the published protocols as presets
(:mod:`gen3d.metrics.presets`). Voxel grids: IoU distance, occupancy JSD, grid -> surface points in the
grids' frame (:mod:`gen3d.metrics.frames`).
Importing this package compiles nothing; numba kernels compile (or load from cache) on first use.
"""

from gen3d.metrics.bootstrap import bootstrap_intervals
from gen3d.metrics.chamfer import chamfer_distance, chamfer_pairwise
from gen3d.metrics.emd import EMDResult, emd, emd_exact, emd_pairwise
from gen3d.metrics.evaluation import evaluate_point_sets, evaluate_voxel_sets, protocol_from_matrices
from gen3d.metrics.jsd import jsd_divergence, occupancy_counts, point_set_jsd
from gen3d.metrics.normalize import normalize_sets
from gen3d.metrics.novelty import novelty_scores
from gen3d.metrics.presets import PROTOCOLS
from gen3d.metrics.protocol import coverage, mmd, mmd_cov, one_nna, one_nna_chance
from gen3d.metrics.voxel import iou_distance_pairwise, voxel_jsd, voxels_to_surface_points

__all__ = [
    "PROTOCOLS",
    "EMDResult",
    "bootstrap_intervals",
    "chamfer_distance",
    "chamfer_pairwise",
    "coverage",
    "emd",
    "emd_exact",
    "emd_pairwise",
    "evaluate_point_sets",
    "evaluate_voxel_sets",
    "iou_distance_pairwise",
    "jsd_divergence",
    "mmd",
    "mmd_cov",
    "normalize_sets",
    "novelty_scores",
    "occupancy_counts",
    "one_nna",
    "one_nna_chance",
    "point_set_jsd",
    "protocol_from_matrices",
    "voxel_jsd",
    "voxels_to_surface_points",
]
