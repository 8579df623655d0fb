"""A tiny network trained with the Yukawa process on two points weighted 0.8 / 0.2 recovers the weights with
the conservative target; trained on the naive target (death term ignored) it puts nearly everything on the
heavier point. The whole chain is real: process loss, preconditioning, prior, schedule and Heun sampler."""

import pytest
import torch
from torch import nn

from gen3d.generate import generate
from gen3d.precond import Precond
from gen3d.processes import get_process


class TinyMLP(nn.Module):
    """Backbone ``(c_in x (B, 2), c_noise (B,), cond) -> (B, 2)`` with sinusoidal noise features."""

    def __init__(self, hidden: int = 128):
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(2 + 16, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2)
        )
        self.register_buffer("freqs", torch.linspace(1.0, 16.0, 8))

    def forward(self, x, c_noise, cond=None):
        e = c_noise[:, None] * self.freqs[None]
        return self.net(torch.cat([x, e.sin(), e.cos()], dim=1))


def _train_and_sample(target: str, steps: int = 3000, seed: int = 0) -> float:
    proc = get_process(
        "yukawa", m=1.0, target=target, sigma_data=1.0, sigma_min=0.01, sigma_max=10.0, P_mean=-0.5, P_std=1.5
    )
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        den = Precond(TinyMLP(), proc)
    opt = torch.optim.Adam(den.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1 - i / steps)
    g = torch.Generator().manual_seed(seed)
    points = torch.tensor([[-1.0, 0.0], [1.0, 0.0]])
    for _ in range(steps):
        labels = (torch.rand(256, generator=g) > 0.8).long()  # 0 (x = -1) with probability 0.8
        loss = proc.loss(den, points[labels], generator=g).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    den.eval()
    x, _ = generate(den, proc, (2,), list(range(2000)), sampler="heun", steps=30, batch_size=2000)
    return float((x[:, 0] < 0).float().mean())


@pytest.mark.slow  # two trainings of 3000 steps (a few seconds each)
def test_trained_network_recovers_the_weights_only_with_the_conservative_target():
    conservative = _train_and_sample("conservative")
    naive = _train_and_sample("naive")
    # exact fields on the same toy give 0.80 (conservative) and ~1.0 (naive); the trained net reaches
    # 0.78-0.79 over seeds at this budget
    assert 0.65 < conservative < 0.9, conservative
    assert naive > 0.95, naive
