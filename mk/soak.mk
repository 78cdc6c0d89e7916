# make soak: libpirsch's queue for SOAK_SECONDS (default 600) at SOAK_RATE page views/s
# (default 2000) from a few threads, against pirsch-standin failing 10% of the API requests
# (503 with Retry-After, 500, connection closed, slow and too-late answers). Prints RSS,
# threads and the queue's counters every SOAK_INTERVAL seconds, then the totals: the stats
# invariant, delivered vs sent, duplicates, lost items (must be 0) and RSS start/peak/end.
# Exits 1 on a lost item, a broken invariant or RSS growing after the warm-up. Not part of
# `make test` (too long); test-soak-short runs it for 20 s so that the script cannot rot.
# Other knobs (environment): SOAK_THREADS, SOAK_INTERVAL, SOAK_FAULT_PERCENT,
# SOAK_BATCH_SIZE, SOAK_RSS_GROWTH_MB, SOAK_WARMUP (see scripts/soak.py).
SOAK_SECONDS ?= 600
SOAK_RATE    ?= 2000

.PHONY: soak test-soak-short

soak: build
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_RATE=$(SOAK_RATE) python3 scripts/soak.py

test-soak-short: build
	SOAK_SECONDS=20 SOAK_INTERVAL=5 SOAK_RATE=$(SOAK_RATE) python3 scripts/soak.py

TEST_TARGETS += test-soak-short
