"""Node runtimes: how a node's processes are isolated (or not) and reached."""
