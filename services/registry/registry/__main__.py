import sys

from servicekit.cli import main

from registry.definition import REGISTRY

if sys.argv[1:2] == ["rebuild-lookups"]:
    # The registry's own bulk job besides the kit's commands (see registry/lookups.py).
    from registry.lookups import main as rebuild_lookups

    rebuild_lookups()
else:
    main(REGISTRY)
