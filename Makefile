# The two commands: `make run` and `make test` (and `make messages` after changing any text). Each sets up .venv by itself the first time
# (and again whenever requirements.txt changes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
PYTEST_ARGS ?=

.PHONY: run test setup stop bench messages

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py run_portal

test: $(STAMP)
	scripts/install-browser && scripts/install-gettext && $(BIN)/python -m pytest $(PYTEST_ARGS)

setup: $(STAMP)

# After changing any text: extract, keep the translations, compile (then translate what is new).
messages: $(STAMP)
	scripts/install-gettext && scripts/messages

stop: $(STAMP)
	$(BIN)/python manage.py embedded_services stop

$(STAMP): requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@
