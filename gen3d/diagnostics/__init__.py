"""Physics of a trained model's reverse process: speciation, collapse, information, likelihood.

Pure torch (no Lightning, no viewer); each estimator is proved on an exact-denoiser toy in
``tests/diagnostics``. The design note is ``physics/phase-diagnostics.md`` of the shared notes; docs in
``docs/diagnostics.md``.

* :func:`information_curve`: C(sigma) = E||y - D||^2 / sigma^2 and I(sigma) (I-MMSE; Gaussian kernel).
* :func:`posterior_commitment`, :func:`uturn_commitment`: phi(sigma), kappa(sigma) and sigma_S.
* :func:`collapse_scan`: near-copy share along generated trajectories against a held-out null, sigma_C.
* :func:`pf_ode_log_likelihood`: per-shape log-likelihood with a Hutchinson divergence and its stated error.
* :func:`entropy_production`, :func:`fluctuation_summary`: heat, entropy production, <exp(-Sigma)> (toys).
* :func:`diagnose`: all of them on a model and its data (``gen3d diagnose``).
"""

from gen3d.diagnostics.collapse import CollapseScan, collapse_scan
from gen3d.diagnostics.commitment import (
    CommitmentCurve,
    class_posterior,
    posterior_commitment,
    simplex_lstsq,
    speciation_sigma,
    uturn_commitment,
)
from gen3d.diagnostics.common import KAPPA_S, PHI_S_TWO_CLASS, SNAP_RATIO, Meter, crossing, log_sigma_grid
from gen3d.diagnostics.information import InformationCurve, information_curve, sigma_at_information
from gen3d.diagnostics.likelihood import Likelihood, pf_ode_log_likelihood
from gen3d.diagnostics.run import diagnose
from gen3d.diagnostics.thermo import entropy_production, fluctuation_summary

__all__ = [
    "KAPPA_S",
    "PHI_S_TWO_CLASS",
    "SNAP_RATIO",
    "CollapseScan",
    "CommitmentCurve",
    "InformationCurve",
    "Likelihood",
    "Meter",
    "class_posterior",
    "collapse_scan",
    "crossing",
    "diagnose",
    "entropy_production",
    "fluctuation_summary",
    "information_curve",
    "log_sigma_grid",
    "pf_ode_log_likelihood",
    "posterior_commitment",
    "sigma_at_information",
    "simplex_lstsq",
    "speciation_sigma",
    "uturn_commitment",
]
