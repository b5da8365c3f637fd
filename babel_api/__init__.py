"""The Babel API: the contract between the BlockVisor host and a node's protocol plugin."""
