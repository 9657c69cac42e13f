# The two commands of the README. Both set everything up on a fresh clone.

# Python: PYTHON when set, otherwise the newest of python3.13, python3.12, python3.11 on the
# PATH that actually runs (a pyenv shim for a version not selected is on the PATH but fails).
# `PYTHON=` (empty) counts as unset.
ifeq ($(strip $(PYTHON)),)
override PYTHON := $(shell for p in python3.13 python3.12 python3.11; do \
	$$p -c 'import sys' >/dev/null 2>&1 && { echo $$p; break; }; done)
endif
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PY_VERSION := $(if $(PYTHON),$(shell $(PYTHON) -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null))
VENV_VERSION := $(shell $(BIN)/python -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)
# A .venv made by another Python (or whose Python is gone) is rebuilt, not half-reused.
ifneq ($(PY_VERSION),$(VENV_VERSION))
FORCE_VENV := force
endif

.PHONY: run dev test setup lint migrate demo messages bench python force secret-key pii-keys backup restore

force:

python:
ifeq ($(PY_VERSION),)
	@echo "No usable Python 3.11, 3.12 or 3.13 found (tried: $(or $(PYTHON),python3.13 python3.12 python3.11))." >&2
	@echo "Install one (Debian/Ubuntu: apt install python3.12-venv; macOS: brew install python@3.13)," >&2
	@echo "or point PYTHON at one: make PYTHON=/path/to/python3.12 run" >&2
	@exit 1
endif
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] else 1)' || \
		{ echo "$(PYTHON) is Python $(PY_VERSION); this project needs 3.11 or newer." >&2; exit 1; }
	@echo "Python $(PY_VERSION) ($(PYTHON)) in $(VENV)"

$(STAMP): requirements.lock pyproject.toml $(FORCE_VENV) | python
	@if [ -e $(VENV) ] && [ "$(VENV_VERSION)" != "$(PY_VERSION)" ]; then \
		echo "$(VENV) was made by Python $(or $(VENV_VERSION),unknown); rebuilding it with $(PY_VERSION)"; \
		rm -rf $(VENV); fi
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

# A SECRET_KEY generated into .env on the first set-up, unless the environment or .env
# already has one (an existing .env keeps everything else it holds).
secret-key: $(STAMP)
	@if [ -z "$${SECRET_KEY:-}" ] && ! grep -qs '^SECRET_KEY=' .env; then \
		if [ -s .env ] && [ -n "$$(tail -c1 .env)" ]; then echo >> .env; fi; \
		$(BIN)/python -c 'import secrets; print("SECRET_KEY=" + secrets.token_urlsafe(50))' >> .env; \
		echo "Generated a SECRET_KEY into .env"; fi

# The keys that encrypt personal information (docs/pii.md), generated on the first set-up
# into a file outside the code directory (with DEBUG off the settings refuse one inside it),
# unless the environment or .env names keys already.
PII_KEY_DEFAULT := $(HOME)/.config/dte-subsidy/pii-keys-$(shell printf '%s' "$(CURDIR)" | cksum | cut -d' ' -f1).json
pii-keys: $(STAMP) secret-key
	@if [ -z "$${PII_KEY_FILE:-}$${PII_KEYS:-}" ] && ! grep -qs '^PII_KEY' .env; then \
		if [ ! -s "$(PII_KEY_DEFAULT)" ]; then \
			mkdir -p "$$(dirname "$(PII_KEY_DEFAULT)")"; \
			DEBUG=1 $(BIN)/python manage.py generate_pii_keys "$(PII_KEY_DEFAULT)" --key-id k1 >/dev/null; fi; \
		echo "PII_KEY_FILE=$(PII_KEY_DEFAULT)" >> .env; \
		echo "Personal-information keys: $(PII_KEY_DEFAULT) (named in .env; back it up apart from the database)"; fi

setup: $(STAMP) secret-key pii-keys
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0

migrate: setup
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo --if-empty

## make run: serve the system with demo data at http://127.0.0.1:8000/ on the production server
run: demo
	@bash scripts/serve.sh production

## make dev: the same on Django's autoreloading development server, with DEBUG on
dev: demo
	@DEBUG=1 bash scripts/serve.sh development

## make test: the whole suite (PostgreSQL/Redis tests skip unless DATABASE_URL/REDIS_URL point at them)
test: setup
	CELERY_TASK_ALWAYS_EAGER=$${CELERY_TASK_ALWAYS_EAGER:-1} $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

messages: setup
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore='.venv-*'
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv --ignore='.venv-*'

## make backup: PostgreSQL dump + stored files + manifest into BACKUP_DIR (default backups/)
backup: setup
	$(BIN)/python manage.py backup

## make restore BACKUP=backups/dte-... [TARGET_DATABASE_URL=postgres://.../fresh]: into a fresh database, then verified
restore: setup
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/dte-YYYYmmdd-HHMMSS [TARGET_DATABASE_URL=...]"; exit 2; }
	$(BIN)/python manage.py restore "$(BACKUP)" --create $(if $(TARGET_DATABASE_URL),--database-url "$(TARGET_DATABASE_URL)")
