"""The WSGI entry point: `gunicorn -c python:gateway.gunicorn_conf gateway.wsgi:app`.

Under gunicorn, logging is already set up by gateway/gunicorn_conf.py (JSON
lines); run any other way, it is set up here.
"""
import logging

from gateway.app import create_app
from services.common import config, logs

if not logging.getLogger().handlers:
    logs.configure(config.log_level())

app = create_app()
