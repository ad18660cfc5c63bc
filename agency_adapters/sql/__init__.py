"""The SQL backend: an agency's read-only reporting database, read through a TOML mapping.

Any database SQLAlchemy reaches (PostgreSQL through psycopg 3, SQL Server through
pyodbc, ...). Modules: `mapping` (the mapping file), `templates` (record summaries),
`schema` (the mapping checked against the live schema), `readonly` (the account must
not be able to write), `match_keys` (the kit's own blocking-key table), `backend`
(the `AgencyBackend` itself) and `factory` (`backend = "sql"` in an adapter config).
"""
