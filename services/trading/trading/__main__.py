import sys

from servicekit.cli import main

from trading.definition import TRADING

if sys.argv[1:2] == ["import-listings"]:
    # Trading's own command besides the kit's api|worker|redrive (see trading/imports/cli.py).
    from trading.imports.cli import main as import_listings

    import_listings()
else:
    main(TRADING)
