"""How many shapes each diagnostic uses: defaults sized for the demo model on a 2-core CPU, scaled to a
budget in network evaluations (NFE: one per shape passed through the net) or minutes.

Costs (note §7): info ``2 M L``; commitment, posterior ``M L (K + 1)``, U-turn ``M L steps``; collapse
``S * NFE(sampler)``; likelihood ``2 M 2 (steps - 1)(1 + 2 n_probe)``.
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, replace

from gen3d.errors import UserInputError

__all__ = ["Plan", "parse_budget", "scale_plan"]

WHAT = ("info", "commitment", "collapse", "likelihood")


@dataclass(frozen=True)
class Plan:
    """Sizes of every diagnostic (see the module docstring for their costs)."""

    info_shapes: int = 64
    info_levels: int = 14
    commit_shapes: int = 64
    commit_levels: int = 10
    uturn_steps: int = 12
    collapse_samples: int = 32
    like_shapes: int = 8
    like_steps: int = 24
    like_probes: int = 2
    sigma_lo: float = 0.005
    sigma_hi: float = 10.0

    def cost(self, what: tuple[str, ...], num_classes: int, route: str, sampler_nfe: int) -> dict[str, int]:
        """NFE per diagnostic in ``what``."""
        c = {}
        if "info" in what:
            c["info"] = 2 * self.info_shapes * self.info_levels
        if "commitment" in what:
            per = (num_classes + 1) if route == "posterior" else self.uturn_steps
            c["commitment"] = self.commit_shapes * self.commit_levels * per
        if "collapse" in what:
            c["collapse"] = self.collapse_samples * sampler_nfe
        if "likelihood" in what:
            c["likelihood"] = 2 * self.like_shapes * 2 * (self.like_steps - 1) * (1 + 2 * self.like_probes)
        return c

    def to_dict(self) -> dict:
        return asdict(self)


def parse_budget(text: str | None) -> tuple[str, float | None]:
    """``None``/"auto" -> ("auto", None); "20000" -> ("nfe", 20000); "5min" / "5m" -> ("minutes", 5)."""
    if text is None or text == "auto":
        return "auto", None
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(min|m)?\s*", str(text))
    if not m or float(m.group(1)) <= 0:
        raise UserInputError(
            f"--budget must be 'auto', a number of network evaluations (e.g. 20000) or minutes (e.g. 5min), "
            f"got {text!r}"
        )
    return ("minutes" if m.group(2) else "nfe"), float(m.group(1))


def scale_plan(plan: Plan, factor: float) -> Plan:
    """``plan`` with every shape count scaled by ``factor`` (at least 4 shapes, 2 for the likelihood)."""

    def s(n: int, lo: int = 4) -> int:
        return max(lo, int(math.floor(n * factor)))

    return replace(
        plan,
        info_shapes=s(plan.info_shapes),
        commit_shapes=s(plan.commit_shapes),
        collapse_samples=s(plan.collapse_samples),
        like_shapes=s(plan.like_shapes, 2),
    )
