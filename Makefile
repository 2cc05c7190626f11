# Everyday commands; `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
COMPOSE ?= docker compose
# The demo's emulated speakers; the poller is pointed at them.
DEMO_SPEAKERS ?= 127.0.0.2,127.0.0.3
PYTEST_ARGS ?=
# The port the artwork service is published on: .env's ARTWORK_PORT, else 8000.
ARTWORK_PORT ?= $(or $(shell sed -n 's/^ARTWORK_PORT=\([0-9][0-9]*\).*/\1/p' .env 2>/dev/null | tail -n 1),8000)
# The display simulator: which panel and room, and where its frames go.
PANEL ?= square720
ZONE ?=
FRAMES ?= display-frames

.DEFAULT_GOAL := help
.PHONY: help venv test test-unit test-integration test-e2e test-compose bench chaos pi-check lint fmt up down demo logs ps redis-cli display-sim gallery

help: ## List the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | sed 's/$$(ARTWORK_PORT)/$(ARTWORK_PORT)/g' \
	  | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(BIN)/.installed: requirements-dev.txt services/*/requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

venv: $(BIN)/.installed ## Create .venv and install everything the tests need

test: venv ## Run the whole test suite (starts its own redis-server; compose tests need Docker)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not chaos" $(PYTEST_ARGS)
	@# Alone at the end: its stack is capped at Pi-class CPU, and it judges times to the second.
	$(BIN)/python -m pytest -m chaos tests/e2e/test_chaos_short.py $(PYTEST_ARGS)

test-unit: venv ## Run the unit tests only
	$(BIN)/python -m pytest tests/unit $(PYTEST_ARGS)

test-integration: venv ## Run the integration tests only
	$(BIN)/python -m pytest -n 2 --dist loadfile tests/integration $(PYTEST_ARGS)

test-compose: venv ## Run the compose end-to-end tests on a real Docker engine (one stack per module)
	$(BIN)/python -m pytest -n 2 --dist loadfile -m "not chaos" tests/e2e $(PYTEST_ARGS)
	$(BIN)/python -m pytest -m chaos tests/e2e/test_chaos_short.py $(PYTEST_ARGS)

test-e2e: test-compose ## Same as test-compose

bench: venv ## Run the benchmarks (bench/)
	$(BIN)/python -m bench $(ARGS)

chaos: venv ## The stack under Pi-class limits and seeded faults (CHAOS_MINUTES=30, CHAOS_SEED=); bench/results/chaos.md
	$(BIN)/python -m bench.chaos

pi-check: venv ## Build the images for linux/arm64 under qemu, run them as the stack and test them (~15 min); bench/results/pi-check.md
	$(BIN)/python -m bench.pi_check

lint: venv ## ruff, mypy, hadolint and the compose-spec schema, changing nothing
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/hadolint --config .hadolint.yaml services/*/Dockerfile
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	SONOS_SPEAKERS=192.0.2.1 EVENT_ADVERTISE_IP=192.0.2.1 $(COMPOSE) -f docker-compose.yml \
	  -f docker-compose.bridge.yml config > .compose-bridge.lint.yml \
	  && $(BIN)/check-jsonschema --builtin-schema vendor.compose-spec .compose-bridge.lint.yml; \
	  status=$$?; rm -f .compose-bridge.lint.yml; exit $$status

fmt: venv ## Format and fix what ruff can
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# On a failed start, the configuration checks' own lines say which key is wrong.
CONFIG_CHECKS := poller-config artwork-config
SHOW_CONFIG_CHECKS = { $(COMPOSE) --ansi never logs --no-log-prefix $(CONFIG_CHECKS) >&2; exit 1; }

up: ## Start the stack for a real Sonos household
	$(COMPOSE) up -d --build || $(SHOW_CONFIG_CHECKS)

down: ## Stop the stack (add ARGS=-v to drop the artwork volume)
	$(COMPOSE) --profile demo down $(ARGS)

demo: ## Start the stack with the emulated household; open http://localhost:$(ARTWORK_PORT)/
	SONOS_SPEAKERS=$(DEMO_SPEAKERS) $(COMPOSE) --profile demo up -d --build --wait || $(SHOW_CONFIG_CHECKS)
	@echo "The demo is up: http://localhost:$(ARTWORK_PORT)/ (make logs, make down)"

logs: ## Follow the logs
	$(COMPOSE) --profile demo logs -f --tail=100

ps: ## Show the services and their health
	$(COMPOSE) --profile demo ps

redis-cli: ## Open redis-cli inside the redis container (authenticated when REDIS_PASSWORD is set)
	$(COMPOSE) exec redis sh -c '[ -z "$$REDIS_PASSWORD" ] || export REDISCLI_AUTH="$$REDIS_PASSWORD"; exec redis-cli "$$@"' redis-cli $(ARGS)

gallery: venv ## Render every built-in profile from a fixed cover into docs/gallery/profiles.png (for the README)
	PYTHONPATH=services/contract:services/poller:services/fakesonos $(BIN)/python docs/make_gallery.py

display-sim: venv ## Show what a Qualia panel would show (PANEL=, ZONE=), as PNG frames in display-frames/
	$(BIN)/python display/simulate.py --server http://127.0.0.1:$(ARTWORK_PORT) --panel $(PANEL) \
	  $(if $(ZONE),--zone $(ZONE)) --frames $(FRAMES) $(ARGS)
