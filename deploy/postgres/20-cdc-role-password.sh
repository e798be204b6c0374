#!/bin/sh
# Runs once, when the official postgres image initialises an empty data directory (after 10-schema.sql, which
# created the CDC role streamshop_cdc: LOGIN REPLICATION, SELECT on the four tables, no password).
# Gives that role the password from STREAMSHOP_CDC_PASSWORD, so `streamshop replicate` and Debezium log in over
# the network with scram-sha-256 (the image's pg_hba rule for non-local connections).
set -eu
: "${STREAMSHOP_CDC_PASSWORD:?set STREAMSHOP_CDC_PASSWORD}"
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set pw="$STREAMSHOP_CDC_PASSWORD" <<'SQL'
ALTER ROLE streamshop_cdc PASSWORD :'pw';
SQL
