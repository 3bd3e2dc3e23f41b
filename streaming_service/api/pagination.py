"""``?page=&page_size=`` of every list of the streaming service, in one dependency.

The rule is shared with the admin service (``shared_kernel.pagination``): ``page`` from 1
to ``MAX_PAGE`` (else 400), ``page_size`` at least 1 and clamped to
``GTV_PAGE_SIZE_MAX``, and a page past the end of the list is a 404. Every list
answers :class:`PageOut` (the shape documented in ``shared_kernel.pagination``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, Query, Request
from pydantic import BaseModel, Field

from shared_kernel.pagination import MAX_PAGE, PageRequest
from streaming_service.api.errors import ApiError


async def page_request(
    request: Request,
    page: Annotated[int, Query(ge=1, le=MAX_PAGE, description="Page number, from 1")] = 1,
    page_size: Annotated[int | None, Query(
        ge=1, description="Items per page (default GTV_PAGE_SIZE_DEFAULT); above "
                          "GTV_PAGE_SIZE_MAX the maximum is used")] = None,
) -> PageRequest:
    # The settings from the request, not a ``ServicesDep``: one dependency node fewer to
    # resolve on every list (see ``deps.BearerAuth``).
    settings = request.app.state.services.settings
    return PageRequest.of(page, page_size, default_size=settings.page_size_default,
                          max_size=settings.page_size_max)


PageDep = Annotated[PageRequest, Depends(page_request)]


def check_page(page: PageRequest, total: int) -> None:
    """404 when ``page`` lies after the last page of a list of ``total`` items."""
    if page.past_end(total):
        last = max(1, -(-total // page.size))
        raise ApiError(404, "not_found", f"page {page.number} is past the end of the list",
                       {"page": page.number, "last_page": last})


T = TypeVar("T")


class PageOut(BaseModel, Generic[T]):
    """One page of a list: the same envelope as the admin service's (DRF's) lists."""

    count: int = Field(description="Items in the whole list")
    page: int = Field(description="This page's number, from 1")
    page_size: int = Field(description="Items per page actually used")
    next: str | None = Field(description="Absolute URL of the next page, or null")
    previous: str | None = Field(description="Absolute URL of the previous page, or null")
    results: list[T]


def page_out(request: Request, page: PageRequest, total: int,
             results: Sequence[T]) -> PageOut[T]:
    """The page envelope, after :func:`check_page`; links keep the request's other filters."""
    check_page(page, total)

    def link(number: int) -> str:
        return str(request.url.include_query_params(page=number, page_size=page.size))

    has_next = page.offset + len(results) < total
    return PageOut[T](count=total, page=page.number, page_size=page.size,
                      next=link(page.number + 1) if has_next else None,
                      previous=link(page.number - 1) if page.number > 1 else None,
                      results=list(results))


def whole_list(request: Request, results: Sequence[T]) -> PageOut[T]:
    """A list that is never long enough to page (one page holding everything)."""
    return PageOut[T](count=len(results), page=1, page_size=max(1, len(results)),
                      next=None, previous=None, results=list(results))
