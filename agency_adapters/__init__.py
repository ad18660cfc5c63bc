"""The adapter runtime (server, policy, matching, signing, disclosure log) and agency modules."""
