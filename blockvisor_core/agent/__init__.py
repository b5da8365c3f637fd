"""The node agent (babel): one process per node that owns the node's jobs and reaches inside the node."""
