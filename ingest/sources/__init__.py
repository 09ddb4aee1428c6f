"""One module per upstream; :data:`SOURCE_TYPES` maps a config ``type`` to its class."""

from __future__ import annotations

import importlib

# config type -> "module:Class" (imported on use: a source's dependencies load only when used)
SOURCE_TYPES = {
    "mastodon": "ingest.sources.mastodon:MastodonSource",
    "bluesky": "ingest.sources.bluesky:BlueskySource",
    "misskey": "ingest.sources.misskey:MisskeySource",
    "posts_file": "ingest.sources.posts_file:PostsFileSource",
    "line_spool": "ingest.sources.line:LineSpoolSource",
    "safety_csv": "ingest.sources.safety_csv:SafetyCsvSource",
    "roster_csv": "ingest.sources.roster:RosterCsvSource",
    "shelter_status": "ingest.sources.shelter_status:ShelterStatusSource",
    "field_reports": "ingest.sources.field_reports:FieldReportSource",
    "shelters": "ingest.sources.shelters:ShelterListSource",
    "jma": "ingest.sources.jma:JmaSource",
    "river_levels": "ingest.sources.river_levels:RiverLevelSource",
}


def source_class(type_name: str) -> type:
    """The source class of a config ``type`` (KeyError with the known types otherwise)."""
    try:
        module_name, _, cls = SOURCE_TYPES[type_name].partition(":")
    except KeyError:
        raise KeyError(
            f"unknown source type {type_name!r} (known: {', '.join(SOURCE_TYPES)})"
        ) from None
    return getattr(importlib.import_module(module_name), cls)
