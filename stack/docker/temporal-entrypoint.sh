#!/bin/sh
# docker-compose: one Temporal service per container (`--service` in the command). The database password comes
# from the compose secret into POSTGRES_PWD, which stack/config/temporal.yaml reads; it is never in a file we own.
set -eu
POSTGRES_PWD="$(cat /run/secrets/pg_password)"
export POSTGRES_PWD
exec server --root /etc/temporal --config config --env stack start "$@"
