# PHP package (bindings/php): the copy of pirsch.h it ships, for machines with the runtime
# library only (libpirsch0, no libpirsch-dev). bindings/php/tests/LibraryTest.php fails while
# the copy differs from include/pirsch.h.
.PHONY: php-header
php-header: include/pirsch.h
	cp include/pirsch.h bindings/php/include/pirsch.h
