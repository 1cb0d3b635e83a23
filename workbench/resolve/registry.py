"""The analyst-editable actor registry: aliases, merges, splits, suppressions, countries.

Why: automatic normalisation gets most actors right, but an analyst must be able to say
"Zelinskyy is Volodymyr Zelenskyy", "these two Bushes are different people", "Reuters is
not an actor" or "John Kirby is American" and see every table follow, without re-running
spaCy. ``resolve()`` reads the registry and rebuilds from stored mentions.

Files: every ``data/registry/*.yaml`` shipped with the package (except ``user.yaml``),
then ONE user file: the ``path`` argument, else ``$WORKBENCH_REGISTRY``, else
``data/registry/user.yaml`` when present. Later files override earlier ones. Format::

    actors:                       # canonical actors, with their aliases and country
      - name: Volodymyr Zelenskyy
        type: PERSON              # PERSON (default), ORG, ...
        country: UKR              # ISO3: the actor's affiliation
        aliases: [Zelinskyy, Zelensky, Zelenskiy]
    merge:                        # canonical name -> variants to fold into it
      International Criminal Court: [ICC]
    split: [Bush]                 # never link/merge these surfaces automatically
    suppress: [Reuters]           # not actors: mentions keep no entity
    countries:                    # actor -> country overrides
      John Kirby: USA
    places:                       # place surface -> ISO3 or REG:... (overrides resolver)
      Georgia: GEO
      Biden: null                 # not a place: never a country, read as a name
    pin:                          # a bare surname means this person in this corpus
      Reagan: Ronald Reagan
    nonactors:                    # typed names that are never actors (counted apart)
      DISEASE: [COVID-19, coronavirus]
      EVENT: [World Cup]

``type: null`` on an actor says "not an actor" (its mentions form a NONACTOR entity);
``split`` also cancels an alias an earlier file gave (``split: [Kirby]`` in a user file
makes bare "Kirby" no longer the shipped John Kirby).

The registry hash (content of every file used) is stamped on ``mentions``, ``entities``,
``article_countries`` and the ``meta`` table, so every result says what produced it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..base import config, errors, yamlsafe
from ..base.cache import cache_dir, cached_pickle
from ..nlp.actors import fold

ENV = "WORKBENCH_REGISTRY"
USER_FILE = "user.yaml"
_ISO3 = re.compile(r"^(?:[A-Z]{3}|REG:[A-Z_]+)$")
#: The non-actor type whose names also end longer names ("U.S. Dlrs", see ``nonactor``).
ABBREVIATION = "ABBREVIATION"

_KEYS = {"actors", "merge", "split", "suppress", "countries", "places", "pin", "nonactors"}
_TYPE = re.compile(r"^[A-Z][A-Z_]{1,19}$")


@dataclass
class Registry:
    """Merged registry contents, keyed by :func:`workbench.nlp.actors.fold` of each name."""

    aliases: dict[str, str] = field(default_factory=dict)  # folded alias -> canonical
    types: dict[str, str] = field(default_factory=dict)  # folded canonical -> type
    countries: dict[str, str] = field(default_factory=dict)  # folded actor -> ISO3
    no_merge: set[str] = field(default_factory=set)
    suppress: set[str] = field(default_factory=set)
    places: dict[str, str] = field(default_factory=dict)  # folded surface -> code
    not_places: set[str] = field(default_factory=set)  # folded surfaces that are no place
    pins: dict[str, str] = field(default_factory=dict)  # folded surname -> canonical person
    nonactors: dict[str, str] = field(default_factory=dict)  # folded name -> type (DISEASE)
    files: list[Path] = field(default_factory=list)
    hash: str = "none"

    def canonical(self, name: str) -> str:
        """The registry's canonical name for a surface, or the surface itself."""
        return self.aliases.get(fold(name), name)

    def is_suppressed(self, name: str) -> bool:
        return fold(name) in self.suppress

    def country(self, name: str) -> str | None:
        return self.countries.get(fold(name))

    def place(self, surface: str) -> str | None:
        return self.places.get(fold(surface))

    def is_place(self, surface: str) -> bool | None:
        """False when the registry says the surface is not a place, else None (no say)."""
        return False if fold(surface) in self.not_places else None

    def nonactor(self, name: str) -> str | None:
        """The non-actor type of a name ("COVID-19" -> "DISEASE"), or None; a name whose last
        word is a unit abbreviation ("U.S. Dlrs") is one too: no actor's name ends in "dlrs"."""
        key = fold(name)
        hit = self.nonactors.get(key)
        if hit is None and " " in key:
            tail = self.nonactors.get(key.rsplit(" ", 1)[1])
            hit = tail if tail == ABBREVIATION else None
        return hit

    def people(self) -> list[str]:
        """Canonical PERSON names the registry knows (so "Putin" alone can find them)."""
        return [self.aliases.get(k, k) for k, t in self.types.items() if t == "PERSON" and " " in k]


def shipped_files() -> list[Path]:
    if not config.REGISTRY_DIR.is_dir():
        return []
    return sorted(p for p in config.REGISTRY_DIR.glob("*.yaml") if p.name != USER_FILE)


def user_file(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The user registry in effect: the argument, ``$WORKBENCH_REGISTRY``, or user.yaml."""
    if path is not None:
        p = Path(path)
        if not p.is_file():
            raise errors.RegistryError(
                errors.bad_registry(str(p), "file", "does not exist or is not a file")
            )
        return p
    env = os.environ.get(ENV)
    if env:
        p = Path(env)
        if not p.is_file():
            raise errors.RegistryError(
                errors.bad_registry(str(p), f"${ENV}", "does not exist or is not a file")
            )
        return p
    default = config.REGISTRY_DIR / USER_FILE
    return default if default.is_file() else None


def load_registry(path: str | os.PathLike[str] | None = None, *, shipped: bool = True) -> Registry:
    """Shipped files (unless ``shipped=False``), then the user file; validated with
    messages that name the file and the entry."""
    files = shipped_files() if shipped else []
    user = user_file(path)
    if user is not None:
        files.append(user)
    reg = Registry(files=files)
    digest = hashlib.sha1()
    for p in files:
        raw = p.read_bytes()
        digest.update(p.name.encode() + b"\0" + raw)
        try:
            data = _parsed(p.name, raw) or {}
        except yaml.YAMLError as exc:
            raise errors.RegistryError(
                errors.bad_registry(str(p), "YAML", str(exc).replace("\n", " "))
            ) from None
        _apply(reg, data, str(p))
    for key in reg.no_merge:  # a split cancels an alias (not a canonical name) of that surface
        if key in reg.aliases and fold(reg.aliases[key]) != key:
            del reg.aliases[key]
    reg.hash = digest.hexdigest()[:12] if files else "none"
    return reg


def _parsed(name: str, raw: bytes) -> Any:
    """A registry file's YAML, parsed once per content (kept on disk, keyed by the file's
    name and bytes and by the parser's code): ``resolve`` loads the registry on every call,
    and parsing the shipped files cost ~0.1 CPU-s each time; a pickle loads in ~1 ms."""
    h = hashlib.sha256(name.encode() + b"\0" + raw)
    h.update(Path(str(yamlsafe.__file__)).read_bytes())
    path = (
        cache_dir()
        / f"registry-{hashlib.sha256(name.encode()).hexdigest()[:8]}-{h.hexdigest()[:16]}.pickle"
    )
    return cached_pickle(path, lambda: yamlsafe.load(raw))


def _need(cond: bool, path: str, where: str, problem: str) -> None:
    if not cond:
        raise errors.RegistryError(errors.bad_registry(path, where, problem))


def _code(value: Any, path: str, where: str) -> str:
    _need(
        isinstance(value, str) and bool(_ISO3.match(value)),
        path,
        where,
        f"{value!r} is not an ISO 3166-1 alpha-3 code (e.g. USA) or a region code (REG:WEST)",
    )
    return str(value)


def _names(value: Any, path: str, where: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    _need(
        isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value),
        path,
        where,
        "expected a list of names",
    )
    return [v.strip() for v in value]


def _apply(reg: Registry, data: Any, path: str) -> None:
    """Add one registry file's sections to ``reg``, section by section in a fixed order (a
    later section overrides an earlier one); the first bad entry raises RegistryError."""
    _need(isinstance(data, dict), path, "top level", "expected a mapping of sections")
    unknown = set(data) - _KEYS
    _need(
        not unknown,
        path,
        "top level",
        f"unknown section(s) {sorted(unknown)}; allowed: {sorted(_KEYS)}",
    )
    _apply_actors(reg, data.get("actors") or [], path)
    _apply_merge(reg, data.get("merge") or {}, path)
    for name in _names(data.get("split") or [], path, "split"):
        reg.no_merge.add(fold(name))
    for name in _names(data.get("suppress") or [], path, "suppress"):
        reg.suppress.add(fold(name))
    _apply_places(reg, data, path)
    _apply_pins(reg, data.get("pin") or {}, path)
    _apply_nonactors(reg, data.get("nonactors") or {}, path)


def _apply_actors(reg: Registry, entries: Any, path: str) -> None:
    """``actors``: a name with its aliases, type and country; ``type: null`` files the
    name and its aliases as not actors."""
    for i, actor in enumerate(entries):
        where = f"actors[{i}]"
        _need(
            isinstance(actor, dict) and isinstance(actor.get("name"), str),
            path,
            where,
            "each actor needs a 'name'",
        )
        name = actor["name"].strip()
        key = fold(name)
        reg.aliases[key] = name
        if "type" in actor and actor["type"] is None:  # "not an actor"
            reg.nonactors[key] = "NONACTOR"
            for alias in _names(actor.get("aliases") or [], path, f"{where}.aliases"):
                reg.nonactors[fold(alias)] = "NONACTOR"
            continue
        reg.types[key] = str(actor.get("type", "PERSON")).upper()
        for alias in _names(actor.get("aliases") or [], path, f"{where}.aliases"):
            reg.aliases[fold(alias)] = name
        if actor.get("country") is not None:
            reg.countries[key] = _code(actor["country"], path, f"{where}.country")


def _apply_merge(reg: Registry, merge: Any, path: str) -> None:
    """``merge``: canonical name -> variants, all pointing at the canonical name."""
    _need(isinstance(merge, dict), path, "merge", "expected 'canonical: [variants]'")
    for name, variants in merge.items():
        reg.aliases[fold(str(name))] = str(name)
        for v in _names(variants, path, f"merge.{name}"):
            reg.aliases[fold(v)] = str(name)


def _apply_places(reg: Registry, data: dict[str, Any], path: str) -> None:
    """``countries`` and ``places``: name -> code; a place mapped to null is not a place."""
    for section, target in (("countries", reg.countries), ("places", reg.places)):
        mapping = data.get(section) or {}
        _need(isinstance(mapping, dict), path, section, "expected 'name: CODE' pairs")
        for name, code in mapping.items():
            if code is None and section == "places":  # "not a place"
                reg.not_places.add(fold(str(name)))
                reg.places.pop(fold(str(name)), None)
                continue
            target[fold(str(name))] = _code(code, path, f"{section}.{name}")


def _apply_pins(reg: Registry, pins: Any, path: str) -> None:
    """``pin``: a bare surname -> the one full name it always means."""
    _need(isinstance(pins, dict), path, "pin", "expected 'Surname: Full Name' pairs")
    for sn, person in pins.items():
        _need(
            isinstance(person, str) and len(person.split()) >= 2,
            path,
            f"pin.{sn}",
            f"{person!r} is not a full name (a surname is pinned to one full name)",
        )
        reg.pins[fold(str(sn))] = person.strip()


def _apply_nonactors(reg: Registry, typed: Any, path: str) -> None:
    """``nonactors``: TYPE -> names filed under that (upper-case) non-actor type."""
    _need(isinstance(typed, dict), path, "nonactors", "expected 'TYPE: [names]' lists")
    for kind, names in typed.items():
        _need(
            isinstance(kind, str) and bool(_TYPE.match(kind)),
            path,
            f"nonactors.{kind}",
            "a type is upper case, e.g. DISEASE, EVENT, PRODUCT",
        )
        for name in _names(names, path, f"nonactors.{kind}"):
            reg.nonactors[fold(name)] = kind


def describe(reg: Registry) -> str:
    """One line for logs and the CLI."""
    return json.dumps(
        {
            "files": [str(p) for p in reg.files],
            "hash": reg.hash,
            "aliases": len(reg.aliases),
            "countries": len(reg.countries),
            "split": len(reg.no_merge),
            "suppress": len(reg.suppress),
            "places": len(reg.places),
            "pins": len(reg.pins),
            "nonactors": len(reg.nonactors),
        }
    )
