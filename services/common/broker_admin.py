"""A small client of RabbitMQ's HTTP management API: users, permissions, queues.

requests against the documented endpoints (https://www.rabbitmq.com/docs/http-api-reference)
rather than pyrabbit/pyrabbit2 or rabbitmqadmin: those are unmaintained or a
CLI, and the handful of calls needed here are plain JSON over HTTP.

The API is served by the `rabbitmq_management` plugin (port 15672). The
credentials are those of the platform's AMQP URI; creating users and setting
permissions needs a user with the `administrator` tag (guest has it locally).
"""
import urllib.parse

import kombu
import requests

from services.common import config

TIMEOUT = 30
management_url = config.management_url


class BrokerAdminError(Exception):
    def __init__(self, message, status=None):
        super().__init__(message)
        self.status = status


class ManagementUnavailable(BrokerAdminError):
    pass


def _q(part):
    return urllib.parse.quote(part, safe="")


class BrokerAdmin:
    def __init__(self, amqp_uri=None, url=None):
        connection = kombu.Connection(amqp_uri or config.amqp_uri())
        self.vhost = connection.virtual_host or "/"
        self.url = (url or management_url()).rstrip("/")
        self.session = requests.Session()
        self.session.auth = (connection.userid, connection.password)
        self.session.headers["content-type"] = "application/json"

    def _call(self, method, path, json=None, missing_ok=False):
        try:
            response = self.session.request(method, self.url + "/api/" + path, json=json,
                                            timeout=TIMEOUT)
        except requests.ConnectionError as exc:
            raise ManagementUnavailable(
                f"the RabbitMQ management API at {self.url} does not answer ({type(exc).__name__}); "
                "enable it with `rabbitmq-plugins enable rabbitmq_management` or set "
                "RABBITMQ_MANAGEMENT_URL")
        if response.status_code == 404 and missing_ok:
            return None
        if response.status_code in (401, 403):
            raise BrokerAdminError(
                f"the management API refused {method} /api/{path} for the AMQP_URI's user "
                f"({response.status_code}): it needs the `administrator` tag", response.status_code)
        if response.status_code >= 400:
            raise BrokerAdminError(f"{method} /api/{path}: {response.status_code} {response.text[:300]}",
                                   response.status_code)
        return response.json() if response.content else None

    def overview(self):
        return self._call("GET", "overview")

    # users
    def user(self, name):
        return self._call("GET", f"users/{_q(name)}", missing_ok=True)

    def users(self):
        return self._call("GET", "users")

    def put_user(self, name, password, tags=""):
        """Tags "" means no access to the management API at all."""
        self._call("PUT", f"users/{_q(name)}", {"password": password, "tags": tags})

    def delete_user(self, name):
        """True if there was such a user (deleting one closes none of its connections)."""
        if self.user(name) is None:
            return False
        self._call("DELETE", f"users/{_q(name)}", missing_ok=True)
        return True

    def set_permissions(self, user, configure, write, read, vhost=None):
        self._call("PUT", f"permissions/{_q(vhost or self.vhost)}/{_q(user)}",
                   {"configure": configure, "write": write, "read": read})

    def permissions(self, user, vhost=None):
        return self._call("GET", f"permissions/{_q(vhost or self.vhost)}/{_q(user)}", missing_ok=True)

    def vhost_permissions(self, vhost=None):
        return self._call("GET", f"vhosts/{_q(vhost or self.vhost)}/permissions") or []

    def clear_permissions(self, user, vhost=None):
        self._call("DELETE", f"permissions/{_q(vhost or self.vhost)}/{_q(user)}", missing_ok=True)

    def user_permissions(self, user):
        return self._call("GET", f"users/{_q(user)}/permissions", missing_ok=True) or []

    def set_topic_permissions(self, user, exchange, write, read, vhost=None):
        self._call("PUT", f"topic-permissions/{_q(vhost or self.vhost)}/{_q(user)}",
                   {"exchange": exchange, "write": write, "read": read})

    def topic_permissions(self, user, vhost=None):
        return self._call("GET", f"topic-permissions/{_q(vhost or self.vhost)}/{_q(user)}",
                          missing_ok=True) or []

    # queues
    def queue(self, name, vhost=None):
        return self._call("GET", f"queues/{_q(vhost or self.vhost)}/{_q(name)}", missing_ok=True)

    def queues(self, vhost=None):
        return self._call("GET", f"queues/{_q(vhost or self.vhost)}") or []

    def queue_bindings(self, name, vhost=None):
        return self._call("GET", f"queues/{_q(vhost or self.vhost)}/{_q(name)}/bindings",
                          missing_ok=True) or []

    # connections
    def connections_of(self, user):
        return [c for c in self._call("GET", "connections") or [] if c.get("user") == user]

    def close_connection(self, name, reason="closed by the platform operator"):
        self.session.headers["X-Reason"] = reason
        try:
            self._call("DELETE", f"connections/{_q(name)}", missing_ok=True)
        finally:
            self.session.headers.pop("X-Reason", None)
