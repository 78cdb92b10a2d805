"""Listing a project's tasks, files or media page by page, at a cost bounded by the page, not the
project: the page's index entries and items (and, for tasks, one counter for the total)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar

from mediatasks.adapters.index import IndexPage
from mediatasks.domain.listing import Cursor, PageQuery

Item = TypeVar("Item")
Query = TypeVar("Query", bound=PageQuery, contravariant=True)


class PagedStore(Protocol[Query, Item]):
    def page(
        self,
        project_id: str,
        query: Query,
        after: dict[str, Any] | None = None,
        *,
        offset: int = 0,
        backwards: bool = False,
    ) -> IndexPage[Item]: ...


@dataclass(frozen=True)
class Listing(Generic[Item]):
    """One page of a project's items, with cursors to the pages beside it."""

    items: list[Item]
    page: int
    next_cursor: str | None
    prev_cursor: str | None


def list_page(
    store: PagedStore[Query, Item], project_id: str, query: Query, secret: Callable[[], bytes]
) -> Listing[Item]:
    if query.cursor:
        cursor = Cursor.decode(query.cursor, query, project_id, secret)
        page = cursor.page
        backwards = cursor.direction == "prev"
        found = store.page(project_id, query, cursor.key, backwards=backwards)
        items = list(found.items)
        if backwards:
            items.reverse()
            first, last = found.last, found.first
            has_next, has_prev = True, found.more
        else:
            first, last = found.first, found.last
            has_next, has_prev = found.more, page > 1
    else:
        page = query.page
        found = store.page(project_id, query, offset=query.offset())
        items = list(found.items)
        first, last = found.first, found.last
        has_next, has_prev = found.more, page > 1

    def link(direction: Literal["next", "prev"], anchor: dict[str, Any] | None, to_page: int) -> str | None:
        if anchor is None:
            return None
        cursor = Cursor(
            key=anchor, direction=direction, page=to_page, project=project_id, query=query.fingerprint()
        )
        return cursor.encode(secret())

    return Listing(
        items=items,
        page=page,
        next_cursor=link("next", last, page + 1) if has_next else None,
        prev_cursor=link("prev", first, page - 1) if has_prev else None,
    )
