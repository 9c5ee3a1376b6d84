"""Planning compliance: buildings checked against their lot's indicators.

Vietnamese detailed plans (1/500, 1/2000) fix per lot a maximum height and number
of floors, a maximum building density (footprint / lot area, %), a maximum
land-use coefficient (FAR: gross floor area / lot area) and a setback from the
red line. :mod:`indicators` reads those columns, :mod:`assign` puts each
building on the lot holding its footprint's largest overlap, :mod:`buildings`
derives heights, floors and gross floor area, :mod:`rules` compares, and
:mod:`report` writes JSON, CSV and HTML. Pure numpy + shapely: no Qt, no VTK.
"""

from twin.compliance.indicators import RULES, LotTable
from twin.compliance.rules import CheckResult, check

__all__ = ["RULES", "CheckResult", "LotTable", "check"]
