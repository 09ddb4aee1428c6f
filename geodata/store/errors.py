"""Exceptions and results of store operations."""

from __future__ import annotations

from dataclasses import dataclass


class StaleVersion(Exception):
    """A shelter status write was based on a version that is no longer current.

    ``current`` holds the current record (a dict of shelter_status columns) so the caller can
    show it and let the user confirm again.
    """

    def __init__(self, current: dict | None):
        self.current = current
        version = current["version"] if current else 0
        super().__init__(f"stale version: the current version is {version}")


class UnknownRecord(KeyError):
    """The record to update does not exist."""


@dataclass
class UpsertResult:
    """Counts of one upsert."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0

    def as_dict(self) -> dict:
        return dict(self.__dict__)

    def __iadd__(self, other: UpsertResult) -> UpsertResult:
        for k in self.__dict__:
            setattr(self, k, getattr(self, k) + getattr(other, k))
        return self


class StoreSetupError(RuntimeError):
    """The database cannot be used as it is set up; the message says (in one line) what to run."""


class OutOfScope(PermissionError):
    """A write through a store scoped to some municipalities (:meth:`Store.scoped`) that would
    write or change a row of another municipality."""
