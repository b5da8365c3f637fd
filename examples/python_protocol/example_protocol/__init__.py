"""An example BlockVisor protocol plugin written in Python.

The hooks live in `example_protocol.protocol`, which the distribution declares as the entry point
`example-python` of the group `blockvisor.protocols`.
"""
