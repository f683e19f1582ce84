# SP4N: `make run` runs the whole system, `make test` runs the whole suite. `make help` lists the rest.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PROTOS := $(shell find protos -name '*.proto')

.DEFAULT_GOAL := help
.PHONY: help venv protos system-deps run test deploy-process bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import ensurepip, venv' 2>/dev/null || (apt-get update -qq && apt-get install -y -qq python3-venv)
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[dev]'
	$(PY) -c 'import pathlib, sysconfig; pathlib.Path(sysconfig.get_paths()["purelib"], "sp4n-protos.pth").write_text(str(pathlib.Path("gen").resolve()) + "\n")'
	touch $@

venv: $(VENV)/.installed ## create the virtual environment and install the dependencies

gen/.stamp: $(VENV)/.installed $(PROTOS)
	rm -rf gen && mkdir -p gen
	$(PY) -m grpc_tools.protoc -Iprotos --python_out=gen --grpc_python_out=gen --pyi_out=gen $(PROTOS)
	touch $@

protos: gen/.stamp ## generate Python code and type stubs from protos/ into gen/

system-deps: ## install the system packages the tests need (chromium; Kannel and its fake SMS centre), if missing
	@need=""; \
	command -v chromium >/dev/null || need="$$need chromium"; \
	test -x /usr/sbin/bearerbox || need="$$need kannel"; \
	test -x /usr/lib/kannel/test/fakesmsc || need="$$need kannel-extras"; \
	if [ -n "$$need" ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $$need; fi

run: protos ## run the whole system: embedded PostgreSQL unless DATABASE_URL is set, six services, demo data
	$(PY) -m services.plumbing.local_system

test: protos system-deps ## set up and run the whole test suite
	$(PY) -m pytest

deploy-process: protos ## validate and deploy a process model to the running sla: make deploy-process FILE=bpmn/x.bpmn
	@test -n "$(FILE)" || (echo "usage: make deploy-process FILE=bpmn/report_lifecycle.bpmn" >&2; exit 2)
	$(PY) -m services.sla.deploy $(FILE)

bench: protos ## run the benchmarks in bench/ and print their figures (not part of make test)
	$(PY) -m bench.engine 300
	$(PY) -m bench.sla

clean: ## remove the virtual environment, generated code and local data
	rm -rf $(VENV) gen .run
