# SP4N: `make run` runs the whole system, `make test` runs the whole suite. `make help` lists the rest.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PROTOS := $(shell find protos -name '*.proto')
MODELS := $(wildcard bpmn/*.bpmn)
# The portal's BPMN viewer: bpmn-js's files, copied from node_modules into the portal's static folder.
VENDOR := services/portal/static/vendor/bpmn-js
BPMN_JS_DIST := node_modules/bpmn-js/dist

.DEFAULT_GOAL := help
.PHONY: help venv protos node-deps npm vendor lint system-deps run test deploy-process image image-check bench clean

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

node-deps: ## install Node.js and npm with apt, if node is missing
	@command -v node >/dev/null && command -v npm >/dev/null || \
		(apt-get update -qq && apt-get install -y -qq --no-install-recommends nodejs npm)

node_modules/.package-lock.json: package.json package-lock.json
	@$(MAKE) --no-print-directory node-deps
	npm ci --no-audit --no-fund
	touch $@

npm: node_modules/.package-lock.json ## install the npm packages pinned in package-lock.json into node_modules/

$(VENDOR)/.stamp: node_modules/.package-lock.json
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)/bpmn-font/css $(VENDOR)/bpmn-font/font
	cp $(BPMN_JS_DIST)/bpmn-navigated-viewer.production.min.js $(BPMN_JS_DIST)/assets/bpmn-js.css \
		$(BPMN_JS_DIST)/assets/diagram-js.css $(VENDOR)/
	cp $(BPMN_JS_DIST)/assets/bpmn-font/css/bpmn.css $(BPMN_JS_DIST)/assets/bpmn-font/css/bpmn-embedded.css \
		$(BPMN_JS_DIST)/assets/bpmn-font/css/bpmn-codes.css $(VENDOR)/bpmn-font/css/
	cp $(BPMN_JS_DIST)/assets/bpmn-font/font/* $(VENDOR)/bpmn-font/font/
	cp node_modules/bpmn-js/LICENSE $(VENDOR)/
	touch $@

vendor: $(VENDOR)/.stamp ## copy the bpmn-js viewer and its CSS and fonts into the portal's static/vendor/

lint: npm ## check bpmn/*.bpmn: bpmnlint's rules (.bpmnlintrc), then bpmn/check.mjs (parses, references, diagram)
	npx --no-install bpmnlint $(MODELS)
	node bpmn/check.mjs $(MODELS)

system-deps: ## install the system packages the tests need (chromium; Kannel and its fake SMS centre; Node.js; kubectl and docker-compose for deploy/), if missing
	@need=""; \
	command -v chromium >/dev/null || need="$$need chromium"; \
	command -v kubectl >/dev/null || command -v kustomize >/dev/null || need="$$need kubernetes-client"; \
	command -v docker-compose >/dev/null || need="$$need docker-compose"; \
	command -v node >/dev/null || need="$$need nodejs"; \
	command -v npm >/dev/null || need="$$need npm"; \
	test -x /usr/sbin/bearerbox || need="$$need kannel"; \
	test -x /usr/lib/kannel/test/fakesmsc || need="$$need kannel-extras"; \
	if [ -n "$$need" ]; then apt-get update -qq && apt-get install -y -qq --no-install-recommends $$need; fi

run: protos vendor ## run the whole system: embedded PostgreSQL unless DATABASE_URL is set, six services, demo data
	$(PY) -m services.plumbing.local_system

# make test runs the suite in TEST_WORKERS processes (pytest-xdist), each with its own test database:
# half its time a test waits (on services it started, on Chromium, on PostgreSQL), so two share 2 cores well.
TEST_WORKERS ?= 2

test: protos system-deps vendor ## set up and run the whole test suite (TEST_WORKERS=2 processes; 0: one)
	$(PY) -m pytest -n $(TEST_WORKERS)

deploy-process: protos ## validate and deploy a process model to the running sla: make deploy-process FILE=bpmn/x.bpmn
	@test -n "$(FILE)" || (echo "usage: make deploy-process FILE=bpmn/report_lifecycle.bpmn" >&2; exit 2)
	$(PY) -m services.sla.deploy $(FILE)

image: ## build deploy/Dockerfile as sp4n:dev (deploy/image.sh: docker, or buildah on a local Debian base)
	deploy/image.sh build

image-check: ## run the six services from sp4n:dev (read-only, non-root) and ask each for its gRPC health
	deploy/image.sh check

bench: protos ## run the benchmarks in bench/ and print their figures (not part of make test)
	$(PY) -m bench.engine 300
	$(PY) -m bench.intake
	$(PY) -m bench.lifecycle
	$(PY) -m bench.feed
	$(PY) -m bench.sla

clean: ## remove the virtual environment, generated code and local data
	rm -rf $(VENV) gen .run node_modules $(VENDOR)
