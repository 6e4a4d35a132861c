"""The demo business domain "commerce": an outdoor-gear shop's back office.

- :mod:`tools.commerce.models`: the tables (``create_schema``, ``drop_schema``);
- :mod:`tools.commerce.seed`: deterministic demo data with named fixtures (``seed``, ``reset``;
  not imported here, so ``python -m tools.commerce.seed`` runs cleanly);
- :mod:`tools.commerce.tools`: the tools agents call (``commerce_tools()``).
"""

from tools.commerce.models import create_schema, drop_schema
from tools.commerce.tools import commerce_tools

__all__ = ["commerce_tools", "create_schema", "drop_schema"]
