"""The policy engine and the data-sharing agreements (`policy/agreements/`)."""
