# RAM Console Lab: `make demo` serves the console, `make test` runs the whole suite.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PORT   ?= 8000
# The PostgreSQL pass of `make test`: the whole suite again, with the tests marked `postgres` (quota
# races, database guards) that only it runs.
PG_TEST_URL ?= postgres://postgres@127.0.0.1:5432/postgres
CHROMIUM ?= /usr/bin/chromium

.PHONY: demo test install install-dev chromium gettext messages migrate serve-prod clean

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

# Debian's Chromium drives the browser tests (Playwright cannot download its own browser here), with
# Noto CJK: without a Chinese font the Chinese pages' screenshots show boxes.
chromium:
	@test -x $(CHROMIUM) && fc-list :lang=zh | grep -q . || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk; \
	  else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium fonts-noto-cjk; fi; }

# GNU gettext: `make messages` and the test that the Chinese catalogue is current need xgettext and msgfmt.
gettext:
	@command -v xgettext >/dev/null && command -v msgfmt >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q gettext; \
	  else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q gettext; fi; }

# messages: the Chinese catalogue brought up to the source (new messages, gone ones dropped), then
# compiled; translate what it adds in locale/zh_Hans/LC_MESSAGES/django.po and run it again
# (docs/TRANSLATION.md). The compiled catalogue is committed, so `make demo` needs no gettext.
messages: install-dev gettext
	$(PY) manage.py makemessages -l zh_Hans --add-location file --no-obsolete
	$(PY) manage.py compilemessages -l zh_Hans --ignore '.venv' --ignore '.venv/*'

migrate: install
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo --site http://127.0.0.1:$(PORT)
	@echo "Serving the RAM console at http://127.0.0.1:$(PORT)  (Ctrl-C stops it)"
	$(PY) manage.py runserver 127.0.0.1:$(PORT)

# The second pass also puts the cache, the sessions and the API nonces in Redis, as production does,
# and runs the tests marked `redis`; database 9 is the tests' own (every test empties it).
test: install-dev chromium gettext
	$(VENV)/bin/ruff check .
	$(PY) -m pytest -m "not postgres and not redis"
	DATABASE_URL=$(PG_TEST_URL) REDIS_URL=redis://127.0.0.1:6379/9 $(PY) -m pytest

clean:
	rm -rf $(VENV) staticfiles .pytest_cache tests/artifacts

# --- Production serving and the long security runs (none of them part of `make test`) ----------
# serve-prod: the production settings under gunicorn, static files by whitenoise. Needs SECRET_KEY,
# RAM_SEALING_KEYS and REDIS_URL in the environment (and DATABASE_URL for PostgreSQL): the workers share
# their rate limits, nonces and sessions through Redis, or each would count its own. Meant to sit
# behind a TLS proxy that sets X-Forwarded-Proto (see README, Security).
WORKERS ?= 3
.PHONY: load faults
serve-prod: install
	@test -n "$$SECRET_KEY" && test -n "$$RAM_SEALING_KEYS" && test -n "$$REDIS_URL" || \
	  { echo "serve-prod: export SECRET_KEY, RAM_SEALING_KEYS and REDIS_URL first (README, Security)"; exit 2; }
	DJANGO_SETTINGS_MODULE=console.settings.production $(PY) manage.py migrate --noinput
	DJANGO_SETTINGS_MODULE=console.settings.production $(PY) manage.py collectstatic --noinput
	DJANGO_SETTINGS_MODULE=console.settings.production $(VENV)/bin/gunicorn console.wsgi:application \
	  --workers $(WORKERS) --bind 127.0.0.1:$(PORT) --access-logfile - --forwarded-allow-ips 127.0.0.1

# load: gunicorn instances on PostgreSQL + Redis under a bounded loopback load (bench/load.py --help).
load: install-dev
	$(PY) bench/load.py $(LOAD_ARGS)

# faults: a worker killed mid-request, PostgreSQL restarted, Redis stopped, on private throwaway
# PostgreSQL and Redis instances (bench/faults.py --help).
faults: install-dev
	$(PY) bench/faults.py $(FAULTS_ARGS)

# --- Benchmarks (docs/PERFORMANCE.md) -----------------------------------------------------------------
# bench: the console, the admin and the OpenAPI beside Django's floor (/healthz) and moto_server, on
# 100,000 users / 200,000 AccessKeys / 1,000,000 events in PostgreSQL (database benchdb, built once),
# gunicorn with 2 sync workers, Redis DB 7. Writes bench/results/<date>.json and .png, prints a table.
# BENCH_QUICK=1 for 3-second targets; BENCH_ARGS for bench/bench.py's options (--help).
.PHONY: bench wrk
$(VENV)/.installed-bench: requirements.txt requirements-bench.txt | $(PY)
	$(PY) -m pip install --quiet -r requirements-bench.txt
	touch $@ $(VENV)/.installed

# Debian's wrk drives the load (like chromium above: installed when missing).
wrk:
	@command -v wrk >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; \
	  else sudo apt-get update -q && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; fi; }

bench: $(VENV)/.installed-bench wrk
	$(PY) bench/bench.py $(BENCH_ARGS)
