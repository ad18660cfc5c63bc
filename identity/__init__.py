"""Staff identity: JWT validation at the broker, and a development token issuer."""
