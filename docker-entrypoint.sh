#!/bin/sh
# The same prestart step as `make run`: wait for the database, migrate, seed; then the command (serve).
set -e
frontline prestart
exec "$@"
