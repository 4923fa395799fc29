import sys

from servicekit.cli import main

from training.definition import TRAINING

if sys.argv[1:2] == ["rebuild-talent-index"]:
    # Training's own bulk job besides the kit's commands (see training/jobs.py).
    from training.jobs import main as rebuild_talent_index

    rebuild_talent_index()
else:
    main(TRAINING)
