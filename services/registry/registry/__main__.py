from servicekit.cli import main

from registry.definition import REGISTRY

main(REGISTRY)
