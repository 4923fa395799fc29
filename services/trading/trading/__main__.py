from servicekit.cli import main

from trading.definition import TRADING

main(TRADING)
