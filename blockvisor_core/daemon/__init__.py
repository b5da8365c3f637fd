"""The host daemon `blockvisord`: the internal service on a Unix socket, and the background loops."""
