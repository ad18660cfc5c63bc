"""The extract backend: an agency that can only export, a nightly CSV (or several).

Modules: `schema` (the declared schema of the extract's files), `validate` (reading an
extract against it: bad rows reported by line and column and skipped, the extract
refused as a whole when it does not pass), `backend` (the extract in use, swapped for a
new one atomically only when that one passes; every answer says "data as of") and
`factory` (`backend = "extract"` in an adapter config).
"""
