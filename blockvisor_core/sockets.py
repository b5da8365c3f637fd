"""The Unix sockets the host's processes serve on: the daemon's and each node agent's."""

import socket
from pathlib import Path

#: How long a probe waits for its connection to be accepted.
PROBE_TIMEOUT_SECS = 2.0


def answers(path: Path) -> bool:
    """Whether something accepts connections on the Unix socket `path`."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
        probe.settimeout(PROBE_TIMEOUT_SECS)
        try:
            probe.connect(str(path))
        except OSError:
            return False
    return True
