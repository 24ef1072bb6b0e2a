"""``python -m loclab``: the command line."""

from loclab.cli import main

main()
