"""The thin core of BlockVisor: host hookspecs, node model, agent, daemon and CLIs."""
