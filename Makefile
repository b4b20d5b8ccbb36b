# Moviola. `make test` installs what the tests need and runs every test.
.PHONY: test build deps test-deps fixtures bench clean

deps:
	./scripts/install-system-deps.sh

# ffprobe (from ffmpeg) checks the files the CLI writes; pytest runs the training-world tests;
# c2pa-python is the reference C2PA validator the provenance checks use; requests/PyYAML/openai/PyJWT/selenium drive the service tests.
test-deps: deps
	@command -v ffprobe >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ffmpeg; }
	@# Debian's chromium and chromedriver run the web page's browser test.
	@{ command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; } || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver; }
	python3 -m pip install -q --disable-pip-version-check -r training/requirements.txt -r eval/requirements.txt -r tools/provenance/requirements.txt -r Tests/service/requirements.txt

build: deps
	swift build --build-tests

test: test-deps build
	python3 -m pytest -q training/tests
	python3 -m pytest -q eval/tests
	bash Tests/cli/generate.sh
	bash Tests/cli/provenance.sh
	# The content policy's red-team benchmark, with its goals as thresholds.
	MOVIOLA_HOME="$$PWD" .build/debug/moviola bench moderation --check
	# PostgreSQL on loopback for the store conformance suite and the service tests (both also run on SQLite).
	url="$$(./scripts/start-test-postgres.sh)" && export MOVIOLA_TEST_POSTGRES_URL="$$url" MOVIOLA_REQUIRE_POSTGRES=1 && \
	  swift test && \
	  (cd Tests/service && python3 -m pytest -q)

# Regenerates the reference fixtures (needs tools/fixtures/requirements.txt installed).
fixtures:
	python3 tools/fixtures/make_engine_fixtures.py

bench: deps
	./moviola bench transformer

clean:
	rm -rf .build
