# Two commands do all the set-up: `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=
# Optional extras to install besides `dev` (CI adds `ray` for the sweep backend's tests).
EXTRAS ?= dev

.PHONY: run test test-slow lint bench clean

# torch==2.13.0 first: a plain `torch` requirement would pull the multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $(STAMP)

# The main job: one random episode's returns, then REINFORCE on CartPole-v1 (3 seeds, run in
# parallel; running it again continues the same runs) and the plot of their returns.
run: $(STAMP)
	$(VENV)/bin/rlbasics demo
	$(VENV)/bin/rlbasics train --env CartPole-v1 --seeds 0 1 2 --out runs
	$(VENV)/bin/rlbasics plot runs --out runs/returns.png

# pytest's exit code 5 (no tests collected) must fail, never pass by accident.
test: $(STAMP)
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

test-slow: $(STAMP)
	$(PY) -m pytest -m slow $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "no slow tests collected"; exit 0; fi; exit $$rc

lint: $(STAMP)
	$(VENV)/bin/ruff check .

bench: $(STAMP)
	for b in benchmarks/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) build *.egg-info
