"""Physics of the generative family: which PDEs give generative models (GenPhys' s-generative test)."""

from gen3d.physics.s_generative import EXAMPLES, SGenerativeResult, dispersion_roots, s_generative_test

__all__ = ["EXAMPLES", "SGenerativeResult", "dispersion_roots", "s_generative_test"]
