# Two entry points for a fresh machine (Python 3.11): `make repro` and `make test`.
# The virtual environment is created and the project installed only when missing or when pyproject.toml or
# constraints.txt (the exact versions the committed results were made with) changed.
PYTHON ?= python3.11
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: repro test lint profile-paper profile-default plots mtd readme-tables

$(STAMP): pyproject.toml constraints.txt
	@test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

repro: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/dvc repro

test: $(STAMP)
	$(VENV)/bin/ruff check dtgan stages tests benchmarks
	$(VENV)/bin/python -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check dtgan stages tests benchmarks

# Switch params.yaml to the paper's full configuration (GPU-sized), or back to the CPU default.
profile-paper: $(STAMP)
	$(VENV)/bin/python -m dtgan.profiles paper

profile-default: $(STAMP)
	$(VENV)/bin/python -m dtgan.profiles default

# The default pipeline on real data (Magnetic Tile Defects) in a separate worktree; reports land in reports/mtd/.
mtd: $(STAMP)
	PATH="$(CURDIR)/$(VENV)/bin:$$PATH" $(VENV)/bin/python -m dtgan.run_profile mtd

# Render every plot declared in dvc.yaml to dvc_plots/index.html with vega inlined (works offline).
plots: $(STAMP)
	$(VENV)/bin/python -m dtgan.reports.offline_html .dvc/plots/offline.html
	$(VENV)/bin/dvc plots show --html-template .dvc/plots/offline.html

# Copy reports/tables/*.md into the README's matching "#### <title>" blocks (a test fails when they differ).
readme-tables: $(STAMP)
	$(VENV)/bin/python -m dtgan.reports.readme_sync
