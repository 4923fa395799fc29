from servicekit.cli import main

from training.definition import TRAINING

main(TRAINING)
