"""`python -m cfmcp`: the same as the `cfmcp` command."""

from cfmcp.cli import main

main()
