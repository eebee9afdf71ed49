# RAM Console Lab: `make demo` serves the console, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
# The PostgreSQL pass of `make test` (tests marked `postgres`: quota races, database guards).
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres
CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test install install-dev chromium migrate serve-prod clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# Debian's Chromium drives the browser tests (Playwright cannot download its own browser here).
chromium:
	@test -x $(CHROMIUM) || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; \
	  else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; fi; }

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo
	@echo "Serving the RAM console at http://127.0.0.1:$(PORT)  (Ctrl-C stops it)"
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

test: install-dev chromium
	$(PY) -m pytest -m "not postgres"
	DATABASE_URL=$(PG_TEST_URL) $(PY) -m pytest -m postgres

clean:
	rm -rf $(VENV) staticfiles .pytest_cache tests/artifacts
