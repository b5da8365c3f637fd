"""The errors a protocol plugin causes, as the host reports them."""


class PluginError(Exception):
    """A protocol plugin failed or answered wrongly; the message names the plugin function and its place."""
