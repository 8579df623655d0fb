"""Session-wide test settings: one torch thread per xdist worker, so two workers share two cores fairly, and
numba's parallel kernels on numba's own work queue instead of OpenMP."""

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
# numba's parallel kernels (metrics) on its own thread pool: OpenMP workers left spinning after a numba kernel
# slowed later torch calls in the same worker several times (measured in docs/diagnostics.md)
os.environ.setdefault("NUMBA_THREADING_LAYER", "workqueue")


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)
