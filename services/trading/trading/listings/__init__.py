"""Patent listings: what owners offer, their lifecycle, and the public search read model."""
