"""The nodes of this host: their persisted state, the manager that runs their lifecycle, the host side
of the Babel engine each node's protocol plugin talks to, and the scheduler of the plugins' tasks."""
