"""The worker forkserver's preload (see :func:`importers.ifc.runner.context`).

Importing this readies every worker-to-be: IfcOpenShell and the worker code
loaded, and the geometry kernel's first-use set-up done
(:mod:`importers.ifc.kernel_warmup`), once per session instead of once per
import.
"""

from __future__ import annotations

from importers.ifc.kernel_warmup import warm
from importers.ifc.options import IfcOptions
from importers.ifc.worker import geometry_settings

warm(IfcOptions().kernel, geometry_settings())
