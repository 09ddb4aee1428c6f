"""What an exported file says about itself: where its data comes from, and the policy it follows.

The reference layers come from CC BY / CC BY-SA sources, so their files carry the attribution
lines (:func:`geodata.export.common.attribution_lines`); public files state the public-output
policy (:mod:`geodata.export.public`), and the public town counts the suppression rule. Each format
puts them where its readers look (see :mod:`geodata.export.data`).
"""

from __future__ import annotations

from geodata.export import public as policy
from geodata.export.common import attribution_lines


class FileNotes:
    """What a file says about itself: its sources' attribution and, when public, the policy."""

    def __init__(self, name: str, public: bool, city: str = ""):
        self.name = name
        self.public = public
        self.attribution = attribution_lines(name)
        self.author = f"{city} 災害対策本部" if city else ""
        self.counts = name == policy.TOWN_COUNTS and public

    def text(self) -> str:
        """The notes as lines of text (KML description, GeoPackage description)."""
        lines = list(self.attribution)
        if self.public:
            lines.append(policy.PUBLIC_NOTE["ja"])
        if self.counts:
            lines.append(policy.SUPPRESSION_NOTE["ja"])
        return "\n".join(lines)

    def members(self) -> dict:
        """Top-level members for a GeoJSON FeatureCollection (RFC 7946 foreign members)."""
        out: dict = {}
        if self.attribution:
            out["attribution"] = self.attribution
        if self.public:
            out["public_policy"] = policy.policy_metadata()
        return out

    def gpkg_metadata(self) -> dict:
        """GeoPackage layer metadata (GDAL stores it in gpkg_metadata)."""
        out = {}
        if self.attribution:
            out["ATTRIBUTION"] = " / ".join(self.attribution)
        if self.public:
            out["PUBLIC_POLICY"] = policy.policy_metadata()["ja"]
        return out
