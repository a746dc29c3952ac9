"""API blueprints, one module per service, each exposing `bp`.

Every module in this package with a `bp` Blueprint is registered under /api/v1
by the app factory: adding a service's routes is adding a file here.
"""
import importlib
import pkgutil

API_PREFIX = "/api/v1"


def blueprints():
    """(module name, blueprint) of every route module here, in name order."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        bp = getattr(module, "bp", None)
        if bp is not None:
            found.append((info.name, bp))
    return found
