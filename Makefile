# The two commands of the README. Both set everything up on a fresh clone.
PYTHON ?= python3.11
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup lint migrate demo messages bench backup restore

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	@touch $(STAMP)

setup: $(STAMP)

migrate: setup
	$(BIN)/python manage.py migrate --noinput

demo: migrate
	$(BIN)/python manage.py load_demo --if-empty

## make run: serve the system with demo data at http://127.0.0.1:8000/
run: demo
	@bash scripts/serve.sh

## make test: the whole suite (PostgreSQL/Redis tests skip unless DATABASE_URL/REDIS_URL point at them)
test: setup
	CELERY_TASK_ALWAYS_EAGER=$${CELERY_TASK_ALWAYS_EAGER:-1} $(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

messages: setup
	$(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv
	$(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv

## make backup: PostgreSQL dump + stored files + manifest into BACKUP_DIR (default backups/)
backup: setup
	$(BIN)/python manage.py backup

## make restore BACKUP=backups/dte-... [TARGET_DATABASE_URL=postgres://.../fresh]: into a fresh database, then verified
restore: setup
	@test -n "$(BACKUP)" || { echo "usage: make restore BACKUP=backups/dte-YYYYmmdd-HHMMSS [TARGET_DATABASE_URL=...]"; exit 2; }
	$(BIN)/python manage.py restore "$(BACKUP)" --create $(if $(TARGET_DATABASE_URL),--database-url "$(TARGET_DATABASE_URL)")
