"""The HTTP gateway: a thin Flask app that authenticates, validates and calls services over RPC.

Start here: `gateway.app.create_app()`; a route is written with `gateway.api.endpoint`
(auth + schema validation + OpenAPI metadata) and `gateway.rpc.call` (one RPC call).
"""
import warnings

# nameko imports eventlet, which warns on import that it is deprecated (docs/stack.md);
# the gateway uses no eventlet at all, and the warning would break its JSON log lines.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
