"""Training-free completion: an unconditional denoiser turned into one that keeps observed points.

Replacement (inpainting) conditioning at every noise level, PVD's "observed points kept fixed, the network
generates the missing ones" without training: given observed points ``y`` in some slots of the cloud and
free slots for the rest, the wrapped network sees the sampler's state with the observed slots replaced by
``y + n``, ``n`` a fresh draw of the process's own perturbation kernel at the current ``sigma``
(``process.noise``: Gaussian for EDM/VP/VE, the PFGM++ kernel for PFGM++), so the whole input looks like a
noisy sample of a complete shape at that level; its output keeps the network's ``x0``-estimate in the free
slots and returns ``y`` exactly in the observed ones. Any sampler of :mod:`gen3d.samplers` then runs
unchanged: for the observed slots ``dx/dsigma = (x - y) / sigma``, so they contract onto ``y`` and the last
step (to sigma = 0) lands on it. This is the replacement method of Song et al. 2021 (score SDE, App. I.2)
and of RePaint (Lugmayr et al. 2022, without its resampling) applied to point slots.

With ``observed_noise=False`` the observed slots are fed clean instead: PVD's conditional scheme (Zhou et
al. 2021, Sec. 4.2), for a network trained that way (:mod:`gen3d.completion.finetune`).
"""

from __future__ import annotations

import torch
from torch import nn

from gen3d.random import GeneratorLike

__all__ = ["InpaintingDenoiser"]


class InpaintingDenoiser(nn.Module):
    """``denoiser(x (B, N, 3), sigma (B,), cond) -> x0_hat (B, N, 3)`` with slots ``mask`` (B, N) bool
    observed at ``observed`` (B, N, 3) (values in free slots are ignored).

    ``process`` gives the perturbation kernel (``noise(shape, sigma, generator, device, dtype)``);
    ``generator`` (None, one, or one per sample, :mod:`gen3d.random`) draws the observed slots' noise, so a
    completion depends on its own generator only; ``observed_noise=False`` feeds ``y`` clean (a model
    fine-tuned for completion). Stateless apart from the generators' streams.
    """

    def __init__(
        self,
        denoiser,
        process,
        observed: torch.Tensor,
        mask: torch.Tensor,
        generator: GeneratorLike = None,
        observed_noise: bool = True,
    ) -> None:
        super().__init__()
        if observed.ndim != 3 or observed.shape[-1] != 3:
            raise ValueError(f"observed must have shape (B, N, 3), got {tuple(observed.shape)}")
        if mask.shape != observed.shape[:2] or mask.dtype != torch.bool:
            raise ValueError(f"mask must be a bool (B, N) tensor, got {mask.dtype} {tuple(mask.shape)}")
        self.denoiser = denoiser
        self.process = process
        self.observed = observed
        self.mask = mask
        self.generator = generator
        self.observed_noise = bool(observed_noise)

    def forward(self, x: torch.Tensor, sigma: torch.Tensor, cond=None) -> torch.Tensor:
        if x.shape != self.observed.shape:
            raise ValueError(f"state has shape {tuple(x.shape)}, observed {tuple(self.observed.shape)}")
        y = self.observed.to(device=x.device, dtype=x.dtype)
        m = self.mask.to(x.device)[..., None]
        if self.observed_noise:
            noise = self.process.noise(tuple(x.shape), sigma, self.generator, device=x.device, dtype=x.dtype)
            x_in = torch.where(m, y + noise, x)
        else:
            x_in = torch.where(m, y, x)
        out = self.denoiser(x_in, sigma, cond)
        return torch.where(m, y, out)
