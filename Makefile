# Concord — every target installs what it needs first, so each works from a fresh clone.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(VENV)/bin/pip
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: install run test fuzz lint bench worker beat lock browser screenshots clean

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.lock
	$(PIP) install --quiet --no-deps -e .
	touch $(STAMP)

# Install, migrate, seed demo data and serve on http://127.0.0.1:8000 (SQLite + in-process tasks
# unless DATABASE_URL / REDIS_URL say otherwise).
run: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo
	DEBUG=$${DEBUG:-1} $(PY) manage.py runserver $(HOST):$(PORT)

# Browser tests need Debian's chromium; install it when missing (root or sudo), never a downloaded build.
browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  elif command -v sudo >/dev/null; then sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium missing: browser tests will be skipped (apt-get install chromium)"; fi; }

# Tests run in TEST_WORKERS processes (pytest-xdist, one test file per process at a time; each process
# has its own test database and media folder). The API fuzzing suite runs in a second, single-process
# pass: schemathesis makes its per-operation tests itself, and pytest-xdist does not run them.
# PYTEST_OPTS go to both passes; PYTEST_ARGS (e.g. a test path) narrow the first and skip the second.
# On PostgreSQL (DATABASE_URL set, as in CI) the fuzzing pass runs on both databases: PostgreSQL, and
# SQLite alongside it in a second process (its output follows), so CI covers both without taking longer.
TEST_WORKERS ?= 2
FUZZ := tests/api/test_schemathesis.py
test: install browser
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --ignore=$(FUZZ) $(PYTEST_OPTS) $(PYTEST_ARGS)
ifeq ($(strip $(PYTEST_ARGS)),)
	@$(MAKE) --no-print-directory fuzz
endif

# Refresh the curated screenshots committed under tests/e2e/screenshots/ (issue 16's reworked screens):
# the browser tests that keep one (shot(..., keep="slug"), tests/e2e/conftest.py) run one at a time and
# write their kept shots to a scratch folder; only when all of them pass does it replace the committed
# set (a screen no test keeps any more disappears with it). Review with `git status` / `git diff --stat`.
# Every other test run writes its screenshots under tests/e2e/artifacts/ (git-ignored) only.
CURATE_TMP := tests/e2e/artifacts/curated
screenshots: install browser
	rm -rf $(CURATE_TMP)
	E2E_CURATE=$(CURDIR)/$(CURATE_TMP) $(PY) -m pytest -p no:cacheprovider tests/e2e $(PYTEST_OPTS)
	rm -f tests/e2e/screenshots/*.png
	mkdir -p tests/e2e/screenshots
	mv $(CURATE_TMP)/*.png tests/e2e/screenshots/
	@ls -l tests/e2e/screenshots/*.png | awk '{ n++; b += $$5 } END { printf "%d curated screenshots, %.1f MB\n", n, b / 1048576 }'

# The API fuzzing pass alone (see above).
fuzz: install
	@if [ -n "$$DATABASE_URL" ] && [ "$${DATABASE_URL#sqlite}" = "$$DATABASE_URL" ]; then \
	  log=$$(mktemp); \
	  env -u DATABASE_URL $(PY) -m pytest $(PYTEST_OPTS) $(FUZZ) > $$log 2>&1 & lite=$$!; \
	  echo "== API fuzzing on PostgreSQL ($${DATABASE_URL##*@}) and on SQLite alongside"; \
	  $(PY) -m pytest $(PYTEST_OPTS) $(FUZZ); pg=$$?; \
	  wait $$lite; sqlite=$$?; \
	  echo "== API fuzzing on SQLite"; cat $$log; rm -f $$log; \
	  test $$pg -eq 0 && test $$sqlite -eq 0; \
	else \
	  $(PY) -m pytest $(PYTEST_OPTS) $(FUZZ); \
	fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check revops billing revrec compliance tests bench
	$(VENV)/bin/lint-imports

# All benchmarks (or BENCH_ARGS="billing_run load"; a benchmark's options follow its name, e.g.
# BENCH_ARGS="month_end --large" for 100,000 contracts), on PostgreSQL: DATABASE_URL from the environment,
# else the local server below. Scratch databases concord_bench_* are created and dropped on it; the
# billing run also needs Redis (REDIS_URL, default redis://127.0.0.1:6379/0). Refuses to run on SQLite.
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/concord_bench
bench: install
	DATABASE_URL="$${DATABASE_URL:-$(BENCH_DATABASE_URL)}" $(PY) -m bench $(BENCH_ARGS)

worker: install
	$(VENV)/bin/celery -A revops worker --loglevel=INFO --concurrency=2

beat: install
	$(VENV)/bin/celery -A revops beat --loglevel=INFO

# Re-resolve the pins after editing pyproject.toml.
lock:
	rm -rf /tmp/concord-lock && $(PYTHON) -m venv /tmp/concord-lock
	/tmp/concord-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/concord-lock/bin/pip freeze --exclude-editable | grep -v '^-e' > requirements.lock

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
