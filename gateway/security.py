"""Headers every answer carries, so a browser runs nothing from elsewhere.

* Pages: a Content-Security-Policy that allows scripts, styles, images and
  requests from this origin only (the pages' inline scripts carry a per-request
  nonce: `<script nonce="{{ csp_nonce }}">`), no framing, no plugins, forms
  posting only here.
* API answers: `default-src 'none'` (a JSON answer is never a document to run).
* Always: no MIME sniffing, no referrer, no framing (X-Frame-Options for old
  browsers), same-origin opener and resource policy.
* No CORS: the gateway never sends Access-Control-Allow-Origin, so a page of
  another origin cannot read its answers with a user's token.

Behind the cluster's ingress, GATEWAY_TRUSTED_PROXIES (the number of proxies in
front, 1 there) makes the client's address the one the ingress saw, for the
audit trail and the public endpoints' rate limit; unset, the socket's peer.
"""
import secrets

from flask import g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from services.common import config

PAGE_POLICY = ("default-src 'self'; script-src 'self' 'nonce-{nonce}'; style-src 'self' "
               "'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self'; "
               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
API_POLICY = "default-src 'none'; frame-ancestors 'none'"
ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}


def is_page(path):
    return path == "/" or path.startswith(("/ui", "/signin", "/verify", "/api/docs"))


def register(app):
    proxies = int(config.env("GATEWAY_TRUSTED_PROXIES", "0"))
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)

    @app.before_request
    def _nonce():
        g.csp_nonce = secrets.token_urlsafe(18)

    @app.context_processor
    def _template_nonce():
        return {"csp_nonce": g.get("csp_nonce", "")}

    @app.after_request
    def _headers(response):
        for name, value in ALWAYS.items():
            response.headers.setdefault(name, value)
        policy = PAGE_POLICY.format(nonce=g.get("csp_nonce", "")) if is_page(request.path) \
            else API_POLICY
        response.headers.setdefault("Content-Security-Policy", policy)
        response.headers.pop("Access-Control-Allow-Origin", None)
        return response
