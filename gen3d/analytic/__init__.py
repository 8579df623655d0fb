"""Closed-form references: exact denoisers for template mixtures and the exact Gaussian probability flow."""

from gen3d.analytic.gaussian_flow import gaussian_flow
from gen3d.analytic.mixture import DiracMixtureDenoiser, GaussianMixtureDenoiser

__all__ = ["DiracMixtureDenoiser", "GaussianMixtureDenoiser", "gaussian_flow"]
