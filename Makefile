# Two commands matter: `make report` (the HTML results book) and `make test` (what CI runs).
PARAMS ?= full
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.grnlib-installed
CI_NOTEBOOKS := build/ci/nbval

.PHONY: setup report test unit lab bench sweep clean

setup: $(STAMP)

# torch is pinned on the command line so pip takes the local CPU wheel, never a CUDA build.
$(STAMP): pyproject.toml
	test -d $(VENV) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet 'torch==2.13.0' -e '.[dev]'
	touch $(STAMP)

report: $(STAMP)
	$(PY) -m grnlib.report --params $(PARAMS)

# Unit tests, then every notebook executed by nbval with the small params/ci set, and the
# rendered CI book opened in headless Chromium.
test: $(STAMP)
	$(VENV)/bin/lint-imports
	$(PY) -m grnlib.report --params ci
	$(PY) -m grnlib.report --params ci --prepare-only --out $(CI_NOTEBOOKS)
	$(PY) -m pytest tests $(CI_NOTEBOOKS) --nbval-lax -q

unit: $(STAMP)
	$(PY) -m pytest tests -q

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=.

bench: $(STAMP)
	$(PY) benchmarks/run.py

# The BEELINE sweeps the book reads (resumable); summaries land in results/benchmark (committed).
SWEEPS := full reduced floor_tf floor_released floor11_released floor11_tf floor11_seed robust_tf robust_released robust_seed choice reserved
ISSUE11 := degree,edge_prior,baseline,phase1
sweep: $(STAMP)
	$(PY) -m grnlib.benchmark.sweep run --plan full --out results/sweep/full
	$(PY) -m grnlib.benchmark.sweep run --plan reduced --out results/sweep/reduced
	$(PY) -m grnlib.benchmark.sweep run --plan reduced --protocols heldout-tf,degree-matched \
		--models degree,pair_evidence_heldout --epochs 12 --out results/sweep/floor_tf
	$(PY) -m grnlib.benchmark.sweep run --plan reduced --protocols released \
		--models degree,pair_evidence --epochs 12 --out results/sweep/floor_released
	$(PY) -m grnlib.benchmark.sweep run --plan reduced --protocols released --epochs 12 --out results/sweep/floor11_released \
		--models $(ISSUE11),pair_evidence,pair_evidence_residual,phase1_residual,stack
	$(PY) -m grnlib.benchmark.sweep run --plan reduced --protocols heldout-tf,degree-matched --epochs 12 \
		--models $(ISSUE11),pair_evidence_heldout,pair_evidence_residual_heldout,phase1_residual_heldout,stack_heldout \
		--out results/sweep/floor11_tf
	$(PY) -m grnlib.benchmark.sweep run --datasets seed/trrust+dorothea/hESC --protocols seed --seeds 0,1,2,3,4 \
		--epochs 12 --models $(ISSUE11),pair_evidence,pair_evidence_residual,phase1_residual,stack \
		--out results/sweep/floor11_seed
	# issue 18 (the `robust` plan: subsampled networks, hESC/mHSC-E, 3 TF folds per seed, the controls)
	$(PY) -m grnlib.benchmark.sweep run --plan robust --protocols heldout-tf,degree-matched --out results/sweep/robust_tf
	$(PY) -m grnlib.benchmark.sweep run --plan robust --protocols released --out results/sweep/robust_released
	$(PY) -m grnlib.benchmark.sweep run --plan robust --protocols seed --datasets seed/trrust+dorothea/hESC \
		--out results/sweep/robust_seed
	# issues 18/19: every alias candidate, the floors and target_only on the same splits, scored by nested validation
	# (grnlib.evaluation.nested); the aliases are chosen from this sweep (tests/test_presets_selection.py)
	$(PY) -m grnlib.benchmark.sweep run --plan choice --protocols released --out results/sweep/choice
	$(PY) -m grnlib.benchmark.sweep run --plan choice --protocols heldout-tf,degree-matched --out results/sweep/choice
	$(PY) -m grnlib.benchmark.sweep run --plan choice --protocols seed --datasets seed/trrust+dorothea/hESC \
		--out results/sweep/choice
	# the reserved sets, evaluated once with the aliases chosen on validation (read by 10_reserved)
	$(PY) -m grnlib.benchmark.sweep run --plan reserved --reserved --epochs 8 --seeds 0,1,2,3,4 --workers 0 \
		--models degree,edge_prior,random,correlation,best,best_heldout,stack,stack_heldout --out results/sweep/reserved
	for name in $(SWEEPS); do $(PY) -m grnlib.benchmark.sweep summarize results/sweep/$$name --out results/benchmark || exit 1; done

clean:
	rm -rf build book/_build book/notebooks
