# The two README commands: `make demo` and `make test`. Each installs what it needs.
PY := .venv/bin/python

.PHONY: demo test lint bench check-config bootstrap clean

bootstrap:
	@bash scripts/bootstrap.sh

demo: bootstrap
	$(PY) -m gateway.cli demo --config configs/demo.yaml --out demo-out

test: bootstrap lint
	$(PY) -m pytest -q

lint: bootstrap
	.venv/bin/ruff check gateway bench tests
	.venv/bin/mypy

bench: bootstrap
	$(PY) bench/run.py --runs 20 --out bench/results.json

check-config: bootstrap
	$(PY) -m gateway.cli check-config configs/demo.yaml

clean:
	rm -rf demo-out bench/out .pytest_cache
