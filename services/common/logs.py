"""JSON-lines logging that carries the request or event id.

The gateway puts a request id into the RPC context; services put it, or the id
of the event being handled, into these context variables, and every log line
and every event emitted carries it: one change can be followed across services.
"""
import contextvars
import json
import logging
import time

correlation_id = contextvars.ContextVar("correlation_id", default=None)
event_id = contextvars.ContextVar("event_id", default=None)

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record):
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if correlation_id.get():
            line["correlation_id"] = correlation_id.get()
        if event_id.get():
            line["event_id"] = event_id.get()
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def logging_config(level="INFO"):
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": "services.common.logs.JsonFormatter"}},
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": "json",
                                "stream": "ext://sys.stdout"}},
        "root": {"level": level, "handlers": ["stdout"]},
        # kombu and amqp are chatty at INFO about every (re)connection.
        "loggers": {"kombu": {"level": "WARNING"}, "amqp": {"level": "WARNING"}},
    }


def configure(level="INFO"):
    import logging.config

    logging.config.dictConfig(logging_config(level))
