"""The platform's services, found once: every folder `services/<name>/` with a `service.py`.

Everything that needs the list of services (the `wushe` command, the local run,
the topology step, the gateway's readiness, the AsyncAPI document, the tests'
platform) asks here, so adding a service is adding its folder. What a service
folder holds, by convention (docs/adding-a-service.md):

    __init__.py       docstring; LOCAL_HTTP_PORT (its /healthz, /readyz, /metrics locally)
    service.py        the nameko service class (a WusheService with `name`)
    contract.py       CONTRACT: every event it publishes (services.common.contract)
    subscriptions.py  SUBSCRIPTIONS: what its inbox consumes (optional)
    demo.py           AFTER = (services whose demo it builds on); load(cluster, out) (optional)
    commands.py       register(subparsers): its own `wushe` subcommands (optional)
"""
import functools
import importlib
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NOT_SERVICES = {"common"}


@functools.lru_cache(maxsize=None)
def names():
    """Every service, in name order; WUSHE_SERVICES (a comma list) narrows it, so a
    developer can run part of the platform while a new service is half built."""
    found = tuple(sorted(
        entry for entry in os.listdir(ROOT)
        if entry not in NOT_SERVICES and os.path.isfile(os.path.join(ROOT, entry, "service.py"))))
    only = os.environ.get("WUSHE_SERVICES")
    if only:
        wanted = {name.strip() for name in only.split(",") if name.strip()}
        unknown = wanted - set(found)
        if unknown:
            raise LookupError(f"WUSHE_SERVICES names no service folder: {', '.join(sorted(unknown))}")
        found = tuple(name for name in found if name in wanted)
    return found


def _optional(name, module):
    # Only a missing module is optional; an error inside one is not swallowed.
    if not os.path.isfile(os.path.join(ROOT, name, f"{module}.py")):
        return None
    return importlib.import_module(f"services.{name}.{module}")


def local_http_port(name):
    return importlib.import_module(f"services.{name}").LOCAL_HTTP_PORT


def service_class(name):
    module = importlib.import_module(f"services.{name}.service")
    for value in vars(module).values():
        if isinstance(value, type) and getattr(value, "name", None) == name:
            return value
    raise LookupError(f"services/{name}/service.py has no service class named {name!r}")


@functools.lru_cache(maxsize=None)
def contract(name):
    """The service's Contract of published events (an empty one if it publishes none)."""
    from services.common.contract import Contract

    module = _optional(name, "contract")
    return module.CONTRACT if module is not None else Contract(name, [])


def contracts():
    return [contract(name) for name in names()]


def subscriptions(name):
    """The service's Subscriptions, or None when it consumes nothing."""
    module = _optional(name, "subscriptions")
    return module.SUBSCRIPTIONS if module is not None else None


def demo_modules():
    """The services' demo modules, each after those named in its AFTER."""
    modules = {name: m for name in names() if (m := _optional(name, "demo")) is not None}
    ordered, placed = [], set()

    def place(name, path=()):
        if name in placed or name not in modules:
            return
        if name in path:
            raise ValueError(f"demo AFTER cycle: {' -> '.join(path + (name,))}")
        for before in getattr(modules[name], "AFTER", ()):
            place(before, path + (name,))
        placed.add(name)
        ordered.append((name, modules[name]))

    for name in sorted(modules):
        place(name)
    return ordered


def command_modules():
    return [(name, m) for name in names() if (m := _optional(name, "commands")) is not None]
