"""The sources configuration: a TOML file listing the sources to run (``sources.example.toml``).

::

    [defaults]              # optional; applies to every source
    poll_seconds = 60       # how often ``run --loop`` runs a source
    timeout_seconds = 20    # HTTP read timeout
    retries = 2             # HTTP retries (429/5xx/connection errors, with backoff)
    deadline_seconds = 180  # one run's fetch (else BOSAI_SOURCE_DEADLINE_SECONDS)
    stale_minutes = 15      # no success for longer: shown stale (else BOSAI_SOURCE_STALE_MINUTES)

    [[source]]
    name = "mastodon-chofu" # unique; the rows' source and the source_health key
    type = "mastodon"       # see ingest.sources.SOURCE_TYPES
    enabled = true
    base_url = "https://mastodon.example"
    hashtags = ["調布", "大雨"]
    token_env = "BOSAI_MASTODON_TOKEN"   # credentials: always the NAME of an environment variable

Every other key is passed to the source class. A key ending in ``_env`` names an environment
variable whose value is passed under the key without the suffix (``token_env`` -> ``token``).
Credentials written in the file itself (``token``, ``password``, ``secret`` ...) are refused.
A source whose variable is unset is still listed: it fails at run time with the reason in
source_health, and the other sources run. Relative paths are relative to the config file.
"""

from __future__ import annotations

import inspect
import os
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from geodata.http import Limits, make_session
from ingest.base import BaseSource, SourceError
from ingest.sources import source_class

SECRET_KEYS = ("token", "password", "secret", "channel_secret", "access_token", "api_key")
COMMON_KEYS = ("name", "type", "enabled", "poll_seconds", "timeout_seconds", "retries")
PATH_KEYS = ("path", "spool_dir", "columns_file")
DEFAULTS = {"timeout_seconds": 20.0, "retries": 2}

# Set on the source by the runner's limits (ingest/fetching.py, geodata/health.py), not passed
# to its constructor.
LIMIT_KEYS = ("deadline_seconds", "stale_minutes")
POSITIVE_KEYS = ("poll_seconds", "timeout_seconds", *LIMIT_KEYS)


class ConfigError(ValueError):
    """A configuration that cannot be used at all (bad TOML, duplicate names, secrets in it)."""


class UnavailableSource(BaseSource):
    """Stands in for a configured source that cannot be built; every run fails with why."""

    def __init__(self, name: str, type_name: str, reason: str, layer: str = "posts"):
        super().__init__(name)
        self.kind = type_name
        self.layer = layer
        self.reason = reason

    def fetch(self, since: str | None) -> Iterator[dict]:
        raise SourceError(self.reason)


@dataclass
class SourcesConfig:
    """The sources a config file lists (disabled ones left out)."""

    sources: list = field(default_factory=list)
    path: Path | None = None
    webhook: dict = field(default_factory=dict)


def load_config(path: Path | str, env: Mapping[str, str] | None = None) -> SourcesConfig:
    """Read a sources TOML file and build its sources.

    Parameters
    ----------
    path : the TOML file.
    env : environment variables for ``*_env`` keys (default ``os.environ``).

    Raises
    ------
    ConfigError : unreadable TOML, a source without name or type, duplicate names, an unknown
        type, or a credential written in the file.
    """
    path = Path(path)
    try:
        doc = tomllib.loads(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: {exc}") from exc
    config = build_sources(doc, base_dir=path.parent, env=env)
    config.path = path
    return config


def build_sources(
    doc: dict, base_dir: Path | str = ".", env: Mapping[str, str] | None = None
) -> SourcesConfig:
    """Build the sources of a parsed config document (see the module docstring)."""
    env = os.environ if env is None else env
    defaults = dict(doc.get("defaults") or {})
    entries = doc.get("source") or doc.get("sources") or []
    if not isinstance(entries, list):
        raise ConfigError("[[source]] must be a list of tables")
    names: set[str] = set()
    sources = []
    for entry in entries:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("type"):
            raise ConfigError(f"every [[source]] needs a name and a type: {entry!r}")
        name, type_name = str(entry["name"]), str(entry["type"])
        if name in names:
            raise ConfigError(f"two sources are named {name!r}")
        names.add(name)
        secrets = [k for k in entry if k in SECRET_KEYS]
        if secrets:
            raise ConfigError(
                f"{name}: credentials do not belong in the config file ({', '.join(secrets)}); "
                f'name an environment variable instead, e.g. {secrets[0]}_env = "BOSAI_..."'
            )
        if not entry.get("enabled", True):
            continue
        try:
            cls = source_class(type_name)
        except KeyError as exc:
            raise ConfigError(f"{name}: {exc.args[0]}") from None
        sources.append(_build(cls, name, type_name, {**defaults, **entry}, Path(base_dir), env))
    return SourcesConfig(sources=sources, webhook=dict(doc.get("line_webhook") or {}))


def _check_timing(name: str, entry: dict) -> None:
    """Refuse a timing key that is not a number > 0 (retries: a whole number >= 0): a deadline
    of 0 or "soon" would abandon every fetch at once or stop the run with a raw ValueError."""
    for key in POSITIVE_KEYS:
        value = entry.get(key)
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if key in entry and not (number and value > 0):
            raise ConfigError(f"{name}: {key} must be a number greater than 0, not {value!r}")
    retries = entry.get("retries", 0)
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ConfigError(f"{name}: retries must be a whole number >= 0, not {retries!r}")


def _build(cls, name: str, type_name: str, entry: dict, base_dir: Path, env) -> BaseSource:
    _check_timing(name, entry)
    params = {}
    missing = []
    municipality = _municipality(name, entry.get("municipality"))
    takes_municipality = "municipality" in inspect.signature(cls.__init__).parameters
    for key, value in entry.items():
        if key in COMMON_KEYS or key in LIMIT_KEYS:
            continue
        if key == "municipality" and not takes_municipality:
            continue  # set on the source below
        if key.endswith("_env"):
            target = key.removesuffix("_env")
            if value in env and env[value]:
                params[target] = env[value]
            else:
                missing.append(str(value))
            continue
        if key in PATH_KEYS and isinstance(value, str) and not Path(value).is_absolute():
            value = str(base_dir / value)
        params[key] = value
    layer = getattr(cls, "layer", "posts")
    if missing:
        reason = f"environment variable(s) not set: {', '.join(missing)}"
        return UnavailableSource(name, type_name, reason, layer)
    session = make_session(
        retries=int(entry.get("retries", DEFAULTS["retries"])),
        timeout=(5.0, float(entry.get("timeout_seconds", DEFAULTS["timeout_seconds"]))),
        limits=Limits.for_sources(),
    )
    try:
        source = cls(name, session=session, **params)
    except (TypeError, ValueError) as exc:
        return UnavailableSource(name, type_name, f"bad configuration: {exc}", layer)
    if "poll_seconds" in entry:  # else the source type's own default
        source.poll_seconds = float(entry["poll_seconds"])
    for key in ("deadline_seconds", "stale_minutes"):  # else the settings
        if key in entry:
            setattr(source, key, float(entry[key]))
    if municipality:
        source.municipality = municipality
    return source


def _municipality(name: str, value) -> str | None:
    """A source's ``municipality`` as its 5-digit code (a 6-digit code loses its check digit)."""
    if value is None:
        return None
    code = str(value).strip()
    if not (code.isdigit() and len(code) in (5, 6) and 1 <= int(code[:2]) <= 47):
        raise ConfigError(f"{name}: municipality must be a 5- or 6-digit code, not {value!r}")
    return code[:5]
