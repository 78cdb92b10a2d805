"""Listing a project's tasks page by page, at a cost bounded by the page, not the project: the
page's index entries and tasks, and one counter for the total."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from mediatasks.adapters.store import TaskStore
from mediatasks.domain.listing import Cursor, ListQuery
from mediatasks.domain.tasks import Task


@dataclass(frozen=True)
class Listing:
    """One page of a project's tasks, with cursors to the pages beside it."""

    tasks: list[Task]
    query: ListQuery
    page: int
    total: int
    next_cursor: str | None
    prev_cursor: str | None


def list_tasks(store: TaskStore, project_id: str, query: ListQuery, secret: Callable[[], bytes]) -> Listing:
    if query.cursor:
        cursor = Cursor.decode(query.cursor, query, project_id, secret)
        page = cursor.page
        backwards = cursor.direction == "prev"
        found = store.page(project_id, query, cursor.key, backwards=backwards)
        if backwards:
            found.tasks.reverse()
            first, last = found.last, found.first
            has_next, has_prev = True, found.more
        else:
            first, last = found.first, found.last
            has_next, has_prev = found.more, page > 1
    else:
        page = query.page
        found = store.page(project_id, query, offset=query.offset())
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
        tasks=found.tasks,
        query=query,
        page=page,
        total=store.count(project_id, query),
        next_cursor=link("next", last, page + 1) if has_next else None,
        prev_cursor=link("prev", first, page - 1) if has_prev else None,
    )
