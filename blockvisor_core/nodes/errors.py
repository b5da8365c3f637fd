"""What goes wrong with a node request, by kind, so the daemon answers each with its own status code.

Every message is one line an operator reads: it names the node, the image, the property or the job.
"""


class NodeError(Exception):
    """A node request that failed; subclasses say why (the daemon maps each to a gRPC status)."""


class NotFound(NodeError):
    """No such node, image, job or plugin method."""


class InvalidRequest(NodeError):
    """The request itself is wrong: bad properties, a bad image reference, a taken name."""


class WrongState(NodeError):
    """The node is not in a state that allows the request (broken, failed, not running)."""


class PluginFailed(NodeError):
    """The node's protocol plugin failed while answering; the message is the plugin's error."""
