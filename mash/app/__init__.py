"""The application layer: the `mash` command line, the cluster runner and the demo.

It sits on top of every part and nothing imports it. `python -m mash.app` runs the CLI.
"""
