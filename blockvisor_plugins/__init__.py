"""The plugins that ship with BlockVisor: runtimes, snapshots, self-update."""
