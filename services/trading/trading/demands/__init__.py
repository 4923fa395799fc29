"""Technology demands: what organisations need."""
