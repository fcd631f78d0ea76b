# layerwatch: `make run` starts the server, `make test` runs every test. Both install what they need.
BUN_VERSION := 1.4.4
LOCAL_BUN   := $(CURDIR)/.tools/node_modules/.bin/bun

# Use a bun on PATH only when it is the pinned version; otherwise bootstrap it from npm.
ifeq ($(shell bun --version 2>/dev/null),$(BUN_VERSION))
BUN     := bun
BUN_DEP :=
else
BUN     := $(LOCAL_BUN)
BUN_DEP := $(LOCAL_BUN)
endif

.PHONY: run dev test typecheck install clean
.DEFAULT_GOAL := run

$(LOCAL_BUN):
	npm install --no-save --no-audit --no-fund --loglevel=error --prefix .tools bun@$(BUN_VERSION)
	@test -x $(LOCAL_BUN) && $(LOCAL_BUN) --version >/dev/null

node_modules/.installed: package.json bun.lock $(BUN_DEP)
	$(BUN) install --frozen-lockfile
	@touch $@

install: node_modules/.installed

run: install
	$(BUN) run src/main.ts $(ARGS)

dev: install
	$(BUN) --watch run src/main.ts $(ARGS)

typecheck: install
	$(BUN) x tsc --noEmit -p .

test: typecheck
	$(BUN) test $(TESTS)

clean:
	rm -rf dist node_modules .tools test-artifacts
