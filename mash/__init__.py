"""The bottom layer every part may use: vocabularies, the home folder, errors, config loading,
the clock, logging, the gRPC server scaffolding, and the generated `mash.v1` stubs.

It imports no part. The application (the `mash` CLI root, the cluster runner, the demo) is
`mash.app`, on top of every part.
"""
