# The two commands of the README: `make demo` and `make test`. Both create .venv themselves.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO_RECORDS ?= 200000

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip 'setuptools>=77' wheel
	$(BIN)/python -m pip install --quiet -e '.[embedded,test,bench]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/vpcflow demo --records $(DEMO_RECORDS) --files 4 -o demo-out/logs
	$(BIN)/vpcflow load --known-ips known-ips.example.yaml demo-out/logs
	$(BIN)/vpcflow view top-edges --param k=200 -o demo-out/top-edges.html
	$(BIN)/vpcflow view rejected --param k=300 -o demo-out/rejected.html
	$(BIN)/vpcflow view by-name --param k=80 -o demo-out/by-name.html
	# Exit status 4 is check's finding: the demo's policy leaves one habit of the web tier out on purpose.
	$(BIN)/vpcflow check policy.example.yaml --known-ips known-ips.example.yaml -o demo-out/check.html || [ $$? -eq 4 ]
	@echo "open $(CURDIR)/demo-out/top-edges.html (also rejected.html, by-name.html, check.html)"

lint: $(STAMP)
	$(BIN)/ruff check etl viewer tests bench docs
	$(BIN)/ruff format --check etl viewer tests bench docs
	$(BIN)/mypy

# Two processes, each with its own served store or container (tests/conftest.py): the suite mostly waits.
# One, against the single database NEO4J_TEST_URI names: the tests empty and count it.
test: lint
	$(BIN)/pytest -q $(if $(NEO4J_TEST_URI),,-n 2)

# BENCH=parse_speed,load_speed picks benchmarks, BENCH_PROFILE=internet the demo profiles; BENCH_RECORDS=1000000 makes the parse run quick.
bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) demo-out .vpcflow build *.egg-info
