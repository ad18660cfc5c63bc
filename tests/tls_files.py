"""A throwaway CA and server certificate for test servers that speak HTTPS (see `bench.tlsfiles`)."""

from bench.tlsfiles import TlsFiles, make_tls_files

__all__ = ["TlsFiles", "make_tls_files"]
