"""Generative processes in the EDM sigma-frame: ``get_process(name, **kwargs)``.

Registry names: ``edm``, ``vp``, ``ve``, ``pfgmpp`` (PFGM++, ``D=`` or ``D_per_dim=``) and ``pfgm``
(PFGM++ with D = 1), ``yukawa`` (GenPhys' screened-Poisson process, ``m=`` or ``D_eff=``). Adding a
process is one file plus an entry in :data:`PROCESSES`.
"""

from __future__ import annotations

from gen3d.processes.base import Process
from gen3d.processes.edm import EDMProcess
from gen3d.processes.pfgmpp import PFGMPPProcess, PFGMProcess
from gen3d.processes.ve import VEProcess
from gen3d.processes.vp import VPProcess
from gen3d.processes.yukawa import YukawaProcess

__all__ = [
    "PROCESSES",
    "get_process",
    "Process",
    "EDMProcess",
    "VPProcess",
    "VEProcess",
    "PFGMPPProcess",
    "PFGMProcess",
    "YukawaProcess",
]

PROCESSES: dict[str, type[Process]] = {
    "edm": EDMProcess,
    "vp": VPProcess,
    "ve": VEProcess,
    "pfgmpp": PFGMPPProcess,
    "pfgm": PFGMProcess,
    "yukawa": YukawaProcess,
}


def get_process(name: str, **kwargs) -> Process:
    """Build a process by registry name; ``get_process(**proc.config())`` rebuilds ``proc``."""
    if name not in PROCESSES:
        raise ValueError(f"unknown process {name!r}; choose one of {sorted(PROCESSES)}")
    cls = PROCESSES[name]
    try:
        return cls(**kwargs)
    except TypeError as e:
        raise ValueError(f"bad arguments for process {name!r}: {e}") from None
