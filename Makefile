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

ARM64_RUNTIME := $(CURDIR)/.tools/arm64/node_modules/@oven/bun-linux-aarch64/bin/bun
# What the tests drive: the real device library (Python), a real browser, the Pi binary under qemu, and the
# PostgreSQL, Redis and MQTT (mosquitto) servers the tests start themselves (test/servers.ts; never the system's
# own instances).
SYSTEM_PACKAGES := python3-socketio python3-websocket python3-requests python3-werkzeug python3-cryptography chromium ffmpeg dbus-daemon \
                   qemu-user-static libc6-arm64-cross libgcc-s1-arm64-cross postgresql redis-server mosquitto \
                   python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good \
                   gstreamer1.0-plugins-ugly glib-networking prometheus
# The fake RTSPS printer camera (test/fakes/rtsps_server.py): GStreamer's RTSP server, x264enc and rtph264pay, TLS.
RTSPS_PROBE := import gi; gi.require_version('Gst', '1.0'); gi.require_version('GstRtspServer', '1.0'); \
  from gi.repository import Gio, Gst, GstRtspServer; Gst.init(None); \
  assert Gst.ElementFactory.find('x264enc') and Gst.ElementFactory.find('rtph264pay'); \
  assert Gio.TlsBackend.get_default().supports_tls()

.PHONY: run dev test check fmt typecheck install system-deps build release measure screenshots bench clean
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

# Formatting and lint (Biome) plus the type check; CI runs it through `make test`.
check: install
	$(BUN) x biome ci .
	$(BUN) x tsc --noEmit -p .

fmt: install
	$(BUN) x biome check --write .

# The Pi binary needs the arm64 Bun runtime and bcrypt binding, both from npm (no other download).
$(ARM64_RUNTIME):
	npm install --no-save --no-audit --no-fund --force --loglevel=error --prefix .tools/arm64 @oven/bun-linux-aarch64@$(BUN_VERSION)

node_modules/.cross-installed: node_modules/.installed
	$(BUN) install --frozen-lockfile --cpu='*' --os=linux
	@touch $@

build: install node_modules/.cross-installed $(ARM64_RUNTIME)
	$(BUN) deploy/build.ts $(TARGETS)

release: build
	rm -f dist/*.xz dist/SHA256SUMS
	xz -T0 -6 -k dist/layerwatch-linux-arm64 dist/layerwatch-linux-x64
	cd dist && sha256sum layerwatch-linux-arm64 layerwatch-linux-x64 layerwatch-linux-arm64.xz layerwatch-linux-x64.xz > SHA256SUMS
	@ls -l dist

# Installs the Debian packages above when one is missing (as root, or through sudo).
system-deps:
	@if ! /usr/bin/python3 -c "import socketio, websocket, requests, werkzeug, cryptography" 2>/dev/null \
	   || ! /usr/bin/python3 -c "$(RTSPS_PROBE)" 2>/dev/null \
	   || ! command -v chromium >/dev/null || ! command -v ffmpeg >/dev/null || ! command -v dbus-daemon >/dev/null || ! command -v qemu-aarch64-static >/dev/null || [ ! -d /usr/aarch64-linux-gnu ] \
	   || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || ! command -v redis-server >/dev/null \
	   || [ ! -x /usr/sbin/mosquitto ] || ! command -v promtool >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; \
	  else echo "make test needs these Debian packages: apt-get install $(SYSTEM_PACKAGES)"; exit 1; fi; \
	  echo "installing $(SYSTEM_PACKAGES)"; \
	  $$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $(SYSTEM_PACKAGES) >/dev/null; \
	fi

# The binary tests run the freshly built executables, so test builds first.
test: system-deps check build
	$(BUN) test --timeout 30000 $(TESTS)

screenshots: system-deps install
	UPDATE_SCREENSHOTS=1 $(BUN) test --timeout 60000 test/browser.test.ts test/browser-printers.test.ts test/browser-jobs.test.ts

clean:
	rm -rf dist node_modules .tools test-artifacts

measure: release
	$(BUN) deploy/measure.ts dist/layerwatch-linux-x64

# Builds first so the benchmark runs the compiled binary, as on the Pi.
bench: build
	$(BUN) bench/run.ts
