# The two commands that matter: `make up` (run the platform locally) and
# `make test` (what CI runs). Everything they need is installed from here.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: up down test unit integration k8s-check bench soak rabbitmq browser clean

$(BIN)/.installed: pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -c requirements.lock -e '.[local,test]'
	touch $@

# RabbitMQ is a system service here; start it if it is down, install it if absent.
rabbitmq:
	@rabbitmq-diagnostics -q ping >/dev/null 2>&1 || { \
	  command -v rabbitmq-server >/dev/null 2>&1 || \
	    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q rabbitmq-server; }; \
	  rabbitmq-server -detached; \
	  for i in $$(seq 60); do rabbitmq-diagnostics -q ping >/dev/null 2>&1 && break; sleep 1; done; \
	  rabbitmq-diagnostics -q ping >/dev/null 2>&1 || { echo "RabbitMQ did not start" >&2; exit 1; }; }
	@# The management API: `wushe consumers` and its tests (docs/consumers.md).
	@rabbitmq-plugins -q enable rabbitmq_management >/dev/null && \
	  for i in $$(seq 30); do $(PYTHON) -c "import urllib.request as u,base64;u.urlopen(u.Request('http://127.0.0.1:15672/api/overview',headers={'Authorization':'Basic '+base64.b64encode(b'guest:guest').decode()}),timeout=2)" 2>/dev/null && break; sleep 1; done

# The page tests drive Debian's chromium (Playwright with executable_path: its own
# browser downloads cannot be fetched here) with fonts for Chinese.
browser:
	@command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi "noto.*cjk" || { \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk; }

up: $(BIN)/.installed rabbitmq
	$(BIN)/wushe up

down:
	@[ -x $(BIN)/wushe ] && $(BIN)/wushe down || true

test: $(BIN)/.installed rabbitmq browser
	$(BIN)/python -m pytest
	$(MAKE) k8s-check

unit: $(BIN)/.installed
	$(BIN)/python -m pytest tests/unit

# Offline validation of the Kubernetes manifests; skipped where kubectl is absent.
k8s-check:
	@if command -v kubectl >/dev/null 2>&1; then bash deploy/k8s/check.sh; \
	 else echo "k8s-check: kubectl not found, manifests not validated"; fi

bench: $(BIN)/.installed rabbitmq
	$(BIN)/python bench/run.py

# The platform under load while every process dies once (docs/operations.md).
# It restarts the machine's RabbitMQ server once. SOAK_ARGS, e.g. --operations 2000.
soak: $(BIN)/.installed rabbitmq
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

clean: down
	rm -rf $(VENV) .run
