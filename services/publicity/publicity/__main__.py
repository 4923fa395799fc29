from servicekit.cli import main

from publicity.definition import PUBLICITY

main(PUBLICITY)
