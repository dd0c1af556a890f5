# Two commands for a new user: `make demo` grades a submission, `make test` runs the tests.
PYTHON ?= python3
DEMO_CHALLENGE ?= cosine-annealing-tmax

.PHONY: install image demo test validate benchmark catalog

install:
	@$(PYTHON) -c "import harness, torch, docker, pytest_timeout" 2>/dev/null || $(PYTHON) -m pip install -e .

image: install
	$(PYTHON) -m harness image build

# Builds the image where a Docker engine answers (else grades with the local backend),
# then grades the reference and the starter of one challenge and prints both reports.
demo: install
	@if $(PYTHON) -c "import docker; docker.from_env(timeout=5).ping()" >/dev/null 2>&1; then \
		$(PYTHON) -m harness image build; \
	else echo "No Docker engine answers: grading with the local backend (it isolates less)."; fi
	@echo "== reference solution =="
	-$(PYTHON) -m harness grade $(DEMO_CHALLENGE) reference_solutions/$(DEMO_CHALLENGE)/solution.py --seed 1
	@echo "== starter code =="
	-$(PYTHON) -m harness grade $(DEMO_CHALLENGE) challenges/$(DEMO_CHALLENGE)/starter/solution.py --seed 1

test: install
	$(PYTHON) -m pytest

validate: install
	$(PYTHON) -m harness validate

benchmark: install
	$(PYTHON) benchmarks/grading_speed.py

catalog: install
	$(PYTHON) -m harness list --format markdown > challenges/README.md
