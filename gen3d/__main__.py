"""``python -m gen3d`` is the ``gen3d`` command."""

import sys

from gen3d.cli import main

sys.exit(main())
