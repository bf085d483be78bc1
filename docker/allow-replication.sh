#!/bin/sh
# Run once by the postgres image when it creates the database: let standbys on the
# compose network stream the WAL, with the password, as the ledger's user.
echo "host replication ${POSTGRES_USER} all scram-sha-256" >> "$PGDATA/pg_hba.conf"
