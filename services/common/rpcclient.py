"""A standalone RPC client of the platform, for the `wushe` command, demo data and tests."""
from nameko.standalone.rpc import ClusterRpcProxy

from services.common import config


def cluster(amqp_uri=None, timeout=None):
    """`with cluster() as c: c.registry.ping()`; long calls (imports) get 4x RPC_TIMEOUT."""
    return ClusterRpcProxy({"AMQP_URI": amqp_uri or config.amqp_uri()},
                           timeout=timeout or config.rpc_timeout() * 4)
