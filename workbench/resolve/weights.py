"""Named weights and thresholds of country resolution, in one place.

The priors of the name index (``W_*``, read by :mod:`.gazetteer`), the article evidence
(``V_*``, ``SEEN_MIN``, ... read by :mod:`.context`) and the scores of the rules (``A_*``,
``HOME_SUPPORT``, ... read by :mod:`.countries`).  See :mod:`.countries` for the rules.
"""

from __future__ import annotations

# --------------------------------------------------------------------------------------
# Priors (log10 of an "effective population"): a country name beats any city reading.
W_COUNTRY = 10.0
W_REGION = 10.0
W_DEMONYM = 9.5
W_METONYM = 9.5
W_ADMIN = 7.5  # US states, Canadian provinces, UK nations, Australian states
W_SUBDIV = 5.5  # other ISO 3166-2 subdivisions
W_PLACE = 6.5  # curated provinces, regions, islands (places.yaml)
W_NICKNAME = 6.0  # curated city nicknames ("L.A.")
W_COUNTY = 5.0  # US counties / parishes
W_COUNTY_BARE = 4.0  # "Gwinnett" for Gwinnett County
W_CAPITAL_BONUS = 1.5
W_CITY_MIN = 3.0
ALT_NAME_MIN_POP = 50_000  # alternate city names only for towns this big (resolve/places.py)
#: The country index takes every cities1000 town's alternate names ("Auschwitz" for
#: Oswiecim, "Kingston" for Kingston upon Thames); chosen on LGL + GeoVirus among 50k / 20k /
#: 10k / 1k people (bench/RESULTS.md, issue 15, round three).
INDEX_ALT_NAME_MIN_POP = 1_000
ALT_NAME_PENALTY = 1.5

# Context scoring.
A_COUNTRY = 3.0  # times the share of the article's place evidence for that country
A_ADMIN = 2.5  # the reading's state/province is named (or implied) in the article
A_DATELINE = 2.0
A_DATELINE_ADMIN = 1.0
A_QUALIFIER = 10.0  # "Paris, Texas"
DOMINANCE = 1.5
PARTIAL_CITY_MIN = 4.5
BIG_CITY = 5.5  # ~300k people: votes on its own
SMALL_CITY = 4.0  # ~10k people: votes only for a country already in evidence
A_LOCAL = 4.0
HOME_MIN_VOTES = 1.5  # an unknown place name falls back to the article's home country
HOME_MIN_SHARE = 0.5
HAMLET = 3.7  # ~5,000 people: one clear piece of other evidence outweighs such a town abroad
A_POSSIBLE = 1.5  # another name in the article has a reading in the same state
ARTICLE_PENALTY = 0.5
DATELINE_SPAN = 200  # characters of the text searched for a dateline


#: Longest capitalised run (words, connectors included) read as one name.
SCAN_RUN_MAX = 5
WEAK_VOTE = 0.25
WEAK_MAX = 0.5
STYLE_MAX = 1.5


#: Votes of the first pass: a qualified name, a country-level name, a demonym, a state
#: (its state vote), a dateline, a shared state abbreviation read by its towns.
V_QUALIFIED = 2.0
V_NAME = 1.0
V_DEMONYM = 0.5
V_ADMIN_STATE = 2.0
V_DATELINE = 3.0
V_DEFERRED = 0.5  # a smaller town, for a country pass 1 already saw
SEEN_MIN = 1.0  # votes that make a country "seen" by pass 1
SHARED_ABBREV_TOWNS = 2  # other names with towns in the state that reads "WA"


#: Other names (or cues) that must support the home country before it overrules a name
#: whose readings are all small towns abroad; a state vote this strong does it for a hamlet.
HOME_SUPPORT = 2
HAMLET_STATE_VOTES = 2.0


#: A qualifier's or a named state's readings need this many state votes to let a sizeable
#: town compete with a country-level name ("Palestine" in an article about East Texas).
TOWN_STATE_VOTES = 2.0
ADMIN_VOTES_CAP = 2.0
