"""``?page=&page_size=`` of every list of the streaming service, in one dependency.

The rule is shared with the admin service (``shared_kernel.pagination``): ``page`` from 1
to ``MAX_PAGE`` (else 400), ``page_size`` at least 1 and clamped to
``GTV_PAGE_SIZE_MAX``, and a page past the end of the list is a 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from shared_kernel.pagination import MAX_PAGE, PageRequest
from streaming_service.api.deps import ServicesDep
from streaming_service.api.errors import ApiError


def page_request(
    services: ServicesDep,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1")] = 1,
    page_size: Annotated[int | None, Query(
        ge=1, description="Items per page (default GTV_PAGE_SIZE_DEFAULT); above "
                          "GTV_PAGE_SIZE_MAX the maximum is used")] = None,
) -> PageRequest:
    settings = services.settings
    return PageRequest.of(page, page_size, default_size=settings.page_size_default,
                          max_size=settings.page_size_max)


PageDep = Annotated[PageRequest, Depends(page_request)]


def check_page(page: PageRequest, total: int) -> None:
    """404 when ``page`` lies after the last page of a list of ``total`` items."""
    if page.past_end(total):
        last = max(1, -(-total // page.size))
        raise ApiError(404, "not_found", f"page {page.number} is past the end of the list",
                       {"page": page.number, "last_page": last})
