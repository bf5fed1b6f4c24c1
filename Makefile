# skycall — two commands after a fresh clone: `make demo` (the loopback call) and `make test`.
VENV   := .venv
PY     := $(VENV)/bin/python
OUT    ?= out

.PHONY: bootstrap demo test test-slow bench lint format quality quality-quick clean

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	$(VENV)/bin/skycall run flowgraphs/loopback_call.toml --out $(OUT)/demo
	$(VENV)/bin/skycall report $(OUT)/demo

test: bootstrap
	$(PY) -m pytest -q

test-slow: bootstrap
	$(PY) -m pytest -q -m slow

bench: bootstrap
	$(PY) scripts/bench.py --json $(OUT)/bench.json

quality: bootstrap
	$(PY) scripts/call_quality.py --out $(OUT)/quality

quality-quick: bootstrap
	$(PY) scripts/call_quality.py --quick --out $(OUT)/quality-quick

lint: bootstrap
	$(VENV)/bin/ruff check .

format: bootstrap
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(OUT) .pytest_cache
