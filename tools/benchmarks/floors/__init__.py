"""The frameworks' floors for the API benchmark: each serves one fixed JSON body from a
file (``GTV_FLOOR_BODY``), with nothing of ours in the way — what DRF and FastAPI cost
by themselves on this machine, measured in the same run as our endpoints."""
