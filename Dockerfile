# One image for every part of wushe. Entry point `wushe`; the Kubernetes
# manifests pass the command as args:
#   wushe serve registry|volunteer|...|gateway, wushe topology,
#   wushe dead-letters [--retry], wushe replay ..., wushe token ...
# Build from the repo root:  docker build -t wushe:0.1.0 .
# Python 3.11, as pyproject.toml requires; the base is pinned by its full tag
# (release pipelines may pin the digest as well).

# --- build: the project and its pinned dependencies, in a venv -----------------
FROM python:3.11.14-slim-trixie AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/wushe
WORKDIR /src
COPY pyproject.toml requirements.lock ./
COPY services ./services
COPY gateway ./gateway
# requirements.lock is a constraint file: it fixes the version of every
# package, direct and transitive, but installs only what the project needs
# (no [local,test] extras, so no SecantusDB or pytest in the image).
# pip is removed afterwards: nothing installs anything at run time.
RUN /opt/wushe/bin/pip install -c requirements.lock . \
 && /opt/wushe/bin/pip check \
 && /opt/wushe/bin/pip uninstall --yes pip

# --- runtime ---------------------------------------------------------------------
# checkov:skip=CKV_DOCKER_2: no HEALTHCHECK: Kubernetes ignores it and probes /healthz and /readyz itself, on a port that depends on the command (8000 gateway, 8080 services)
FROM python:3.11.14-slim-trixie
# A numeric, non-root user: Kubernetes' runAsNonRoot can only verify a number.
RUN groupadd --system --gid 10001 wushe \
 && useradd --system --uid 10001 --gid 10001 --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin wushe
COPY --from=build /opt/wushe /opt/wushe
# Logs are JSON lines on stdout: unbuffered. The root filesystem is read-only
# in the cluster: no .pyc writes (pip compiled them at install), HOME in /tmp.
ENV PATH=/opt/wushe/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
WORKDIR /tmp
USER 10001:10001
# 8000: gateway (GATEWAY_BIND); 8080: a nameko service's /healthz, /readyz,
# /metrics (WUSHE_HTTP_BIND).
EXPOSE 8000 8080
ENTRYPOINT ["wushe"]
CMD ["--help"]
