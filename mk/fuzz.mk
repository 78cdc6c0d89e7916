# Coverage-guided fuzz targets (fuzz/: cargo-fuzz, libFuzzer, ASan, overflow checks on):
# from_headers (the C entry point through to the JSON, against a reference model),
# client_ip (the trusted-proxy walk), time, transport, config (every parser of network or
# configuration input). Needs a nightly toolchain; fuzz/run.sh says what it does.
#
# fuzz:            each target for FUZZ_SECONDS (default 60), one worker; the corpus grows
#                  in fuzz/work/ (git-ignored); prints a summary; fails on a crash, leaving
#                  the input in fuzz/artifacts/TARGET/. FUZZ_TARGETS picks some.
# test-fuzz-smoke: part of `make test`: the committed seeds (fuzz/corpus/) and 50,000 fixed
#                  runs of each target; says so and passes when there is no nightly.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=

.PHONY: fuzz test-fuzz-smoke

fuzz:
	fuzz/run.sh fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

test-fuzz-smoke:
	fuzz/run.sh smoke

TEST_TARGETS += test-fuzz-smoke
