"""`python -m kawa.cli`: the same as the `kawa` console script."""

from kawa.cli import main

main()
