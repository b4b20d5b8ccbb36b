# Moviola. `make test` installs what the tests need and runs every test.
.PHONY: test build deps fixtures bench clean

deps:
	./scripts/install-system-deps.sh

build: deps
	swift build --build-tests

test: build
	swift test

# Regenerates the reference fixtures (needs tools/fixtures/requirements.txt installed).
fixtures:
	python3 tools/fixtures/make_engine_fixtures.py

bench: deps
	./moviola bench transformer

clean:
	rm -rf .build
