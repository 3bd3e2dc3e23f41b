"""The compose stack suite: one package, so its containers stop when its last test ends,
not at the end of the whole run."""
