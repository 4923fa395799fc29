"""Courses of the curriculum. Pure rules, no I/O."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from enum import StrEnum


class Audience(StrEnum):
    GOVERNMENT_CADRES = "government_cadres"
    ENTERPRISE_MANAGERS = "enterprise_managers"
    ENGINEERS = "engineers"
    STUDENTS = "students"
    SERVICE_STAFF = "service_staff"


def prerequisite_cycle(course_id: str, prerequisites: Iterable[str],
                       prerequisites_of: Callable[[str], Iterable[str]]) -> list[str] | None:
    """A path course -> ... -> course if giving `course_id` these prerequisites would close a cycle.

    `prerequisites_of` returns the stored prerequisites of another course (empty when unknown).
    """
    stack: list[tuple[str, list[str]]] = [(p, [course_id, p]) for p in prerequisites]
    seen: set[str] = set()
    while stack:
        current, path = stack.pop()
        if current == course_id:
            return path
        if current in seen:
            continue
        seen.add(current)
        stack.extend((p, [*path, p]) for p in prerequisites_of(current))
    return None
