"""Tools for the agency's IT team: `mash adapter init` (a commented config) and `mash adapter check`."""
