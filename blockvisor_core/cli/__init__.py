"""`bv`, the operator's command line: talks to the local daemon (`blockvisord`) over its Unix socket."""
