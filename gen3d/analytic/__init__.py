"""Closed-form references: exact denoisers for template mixtures, the exact Gaussian probability flow, and the
exact fields of the Yukawa process (:mod:`gen3d.analytic.yukawa`, NumPy/SciPy)."""

from gen3d.analytic.gaussian_flow import gaussian_flow
from gen3d.analytic.mixture import DiracMixtureDenoiser, GaussianMixtureDenoiser
from gen3d.analytic.yukawa import YukawaDiracMixture

__all__ = ["DiracMixtureDenoiser", "GaussianMixtureDenoiser", "YukawaDiracMixture", "gaussian_flow"]
