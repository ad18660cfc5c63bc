"""The MASH console: server-rendered web pages for MASH staff, a client of the broker's gRPC API."""
