"""The adapter runtime (server, policy, matching, signing, disclosure log) and one module per agency."""
