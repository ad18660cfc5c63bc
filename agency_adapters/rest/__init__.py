"""The REST/JSON backend: school management-information middleware (Arbor, SIMS, Bromcom...).

Pupils are found through the middleware's search endpoints (by UPN, former UPN, or name and
date of birth), and attendance, exclusions, SEN and other records are read from per-pupil
endpoints, all as a mapping file says. See `docs/operator-guide.md`, "REST backend".
"""
