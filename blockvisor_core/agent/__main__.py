"""`python -m blockvisor_core.agent`: the same as the `babel` command."""

from blockvisor_core.agent.cli import main

main()
