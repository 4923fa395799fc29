import sys

from servicekit.cli import main

from trading.definition import TRADING

if sys.argv[1:2] == ["import-listings"]:
    # Trading's own command besides the kit's api|worker|redrive (see trading/imports/cli.py).
    from trading.imports.cli import main as import_listings

    import_listings()
elif sys.argv[1:2] in (["refile-search"], ["recount-listings"]):
    from trading.listings.jobs import main as run_job

    run_job(sys.argv[1:2])
else:
    main(TRADING)
