#!/bin/sh
# docker-compose's schema job: what stack/postgres.ts does natively. Creates the two databases if missing, then
# sets up the version tables (a no-op on an existing schema) and upgrades to the schema embedded in `sql`.
set -eu
SQL_PASSWORD="$(cat /run/secrets/pg_password)"
export SQL_PASSWORD
sqltool() { sql --plugin postgres12 --endpoint "$POSTGRES_SEEDS" --port "$DB_PORT" --user "$POSTGRES_USER" "$@"; }
for pair in temporal:postgresql/v12/temporal temporal_visibility:postgresql/v12/visibility; do
  db="${pair%%:*}"
  schema="${pair#*:}"
  if ! out="$(sqltool --database "$db" create-database 2>&1)"; then
    echo "$out" | grep -q "already exists" || { echo "$out" >&2; exit 1; }
  fi
  sqltool --database "$db" setup-schema -v 0.0
  sqltool --database "$db" update-schema --schema-name "$schema"
done
echo "schema ready"
