"""The s-generative test of GenPhys (Liu, Luo, Xu, Jaakkola, Tegmark 2023) for linear PDEs.

A linear PDE with constant coefficients in one "time" coordinate ``t`` (real time for diffusion, the augmented
coordinate for Poisson-type equations) and ``n`` space coordinates is written as a sum of terms
``c_pq ∂_t^p Δ^q φ``. Substituting the plane wave ``φ ∝ exp(-i ω t + i k·x)`` (``∂_t -> -i ω``,
``Δ -> -k²``) gives the dispersion polynomial

    P(ω; k) = Σ_pq c_pq (-i ω)^p (-k²)^q = 0,

whose roots ``ω_b(k)`` are the branches. GenPhys' smoothing condition (C2, their Eq. 16): the PDE is
s-generative when some branch has ``Im ω_b(k) < Im ω_b(0)`` for every ``k > 0``: every non-zero Fourier
mode of the data decays faster than the mean, so late-time solutions forget the data. (The other condition,
C1, a density-flow form ``∂_t p + ∇·(p v) = R``, is not a property of the dispersion relation; the equations
below that pass satisfy it.)

Examples (:data:`EXAMPLES`): heat, Poisson and screened Poisson (Yukawa) pass; the wave, Schrödinger and
Helmholtz equations fail because some modes oscillate without decaying (``Im ω(k) = Im ω(0)``).

Branches are followed by sorting the roots by imaginary part at each ``k`` (descending). This is exact for the
equations here (their branches never cross); a PDE whose branches cross may need another labelling.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

__all__ = ["EXAMPLES", "SGenerativeResult", "dispersion_roots", "s_generative_test"]


@dataclass(frozen=True)
class SGenerativeResult:
    """Outcome of :func:`s_generative_test`.

    ``passes``: some branch decays faster at every k > 0 than at k = 0; ``branch``: its index in the
    sorted-roots labelling (None when none passes); ``reason``: one sentence a reader can check;
    ``k``: (K,) wave numbers tried; ``im_omega``: (K, n_branches) ``Im ω_b(k)``; ``im_omega0``: (n_branches,).
    """

    passes: bool
    branch: int | None
    reason: str
    k: np.ndarray
    im_omega: np.ndarray
    im_omega0: np.ndarray


def _polynomial(terms: Mapping[tuple[int, int], complex], k: float) -> np.ndarray:
    """Coefficients of ``P(ω; k)`` in ω, highest power first (numpy.roots convention)."""
    order = max(p for p, _ in terms)
    coef = np.zeros(order + 1, dtype=np.complex128)
    for (p, q), c in terms.items():
        # c (-i ω)^p (-k²)^q = c (-i)^p (-k²)^q ω^p
        coef[order - p] += complex(c) * (-1j) ** p * (-(k**2)) ** q
    return coef


def dispersion_roots(terms: Mapping[tuple[int, int], complex], k: np.ndarray) -> np.ndarray:
    """Roots ``ω_b(k)`` of the dispersion polynomial, shape (K, n_branches), sorted by ``Im ω`` (descending).

    ``terms`` maps ``(p, q)`` (powers of ``∂_t`` and of the Laplacian) to the coefficient ``c_pq``;
    e.g. the heat equation ``∂_t φ - Δ φ = 0`` is ``{(1, 0): 1, (0, 1): -1}``.
    """
    if not terms:
        raise ValueError("terms is empty: give the PDE as {(p, q): coefficient of ∂_t^p Δ^q}")
    bad = [pq for pq in terms if len(pq) != 2 or min(pq) < 0 or any(int(v) != v for v in pq)]
    if bad:
        raise ValueError(f"term keys must be pairs of non-negative integers (p, q), got {bad}")
    if max(p for p, _ in terms) < 1:
        raise ValueError("the PDE has no time derivative (no term with p >= 1): there is no dispersion")
    out = []
    for kk in np.asarray(k, dtype=np.float64).reshape(-1):
        coef = np.trim_zeros(_polynomial(terms, float(kk)), "f")
        roots = np.roots(coef)
        out.append(roots[np.argsort(-roots.imag, kind="stable")])
    widths = {len(r) for r in out}
    if len(widths) != 1:
        raise ValueError("the number of branches changes with k (leading coefficient vanishes somewhere)")
    return np.stack(out)


def s_generative_test(
    terms: Mapping[tuple[int, int], complex],
    k_max: float = 10.0,
    n_k: int = 400,
    tol: float = 1e-9,
) -> SGenerativeResult:
    """GenPhys' dispersion test ``Im ω_b(k) < Im ω_b(0)`` for all ``0 < k <= k_max`` on some branch b.

    ``tol`` is the margin below which a mode counts as not decaying faster than the mean (round-off in the
    roots is about 1e-12 here). Returns a :class:`SGenerativeResult` with the reason spelled out.
    """
    k = np.linspace(k_max / n_k, k_max, n_k)
    im = dispersion_roots(terms, k).imag + 0.0  # + 0.0: no "-0" in messages
    im0 = dispersion_roots(terms, np.zeros(1))[0].imag + 0.0
    gaps = im - im0[None, :]  # < 0 where mode k decays faster than the k = 0 mode
    ok = (gaps < -tol).all(axis=0)
    if ok.any():
        b = int(np.flatnonzero(ok)[0])
        return SGenerativeResult(
            True,
            b,
            f"branch {b}: Im ω(k) < Im ω(0) = {im0[b]:.3g} for all 0 < k <= {k_max:g} "
            f"(largest Im ω(k) - Im ω(0) = {gaps[:, b].max():.3g}): every data mode decays faster than the "
            "mean, so the solution smooths",
            k,
            im,
            im0,
        )
    # the first k at which every branch fails, named with its gap
    worst = [(int(np.argmax(gaps[:, b] >= -tol)), b) for b in range(im.shape[1])]
    parts = [
        f"branch {b} at k = {k[i]:.3g}: Im ω(k) = {im[i, b]:.3g} vs Im ω(0) = {im0[b]:.3g}" for i, b in worst
    ]
    return SGenerativeResult(
        False,
        None,
        "no branch smooths: " + "; ".join(parts) + " (a mode that does not decay faster than the mean keeps "
        "the data's detail forever: oscillation, not smoothing)",
        k,
        im,
        im0,
    )


#: Linear PDEs of the GenPhys paper's discussion, as ``{(p, q): c}`` for ``Σ c ∂_t^p Δ^q φ = 0``
#: (screening mass / wave speed / Helmholtz wave number set to 1), with whether they are s-generative.
EXAMPLES: dict[str, tuple[dict[tuple[int, int], complex], bool]] = {
    "heat (diffusion)": ({(1, 0): 1.0, (0, 1): -1.0}, True),
    "Poisson (PFGM, t = augmented coordinate)": ({(2, 0): 1.0, (0, 1): 1.0}, True),
    "screened Poisson (Yukawa, m = 1)": ({(2, 0): 1.0, (0, 1): 1.0, (0, 0): -1.0}, True),
    "wave (c = 1)": ({(2, 0): 1.0, (0, 1): -1.0}, False),
    "Schrödinger (i ∂_t φ = -Δ φ)": ({(1, 0): 1j, (0, 1): 1.0}, False),
    "Helmholtz (κ = 1, t = augmented coordinate)": ({(2, 0): 1.0, (0, 1): 1.0, (0, 0): 1.0}, False),
}
