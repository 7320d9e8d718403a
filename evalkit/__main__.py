"""`python -m evalkit ...` is the `evalkit` command."""

from evalkit.app.cli import main

main()
