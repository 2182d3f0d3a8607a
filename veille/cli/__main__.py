"""``python -m veille.cli``: the ``veille`` command, for environments without its script."""

from veille.cli import main

main()
