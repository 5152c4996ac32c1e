"""The coordination's reference lists: regions, themes, languages, kinds of organisation."""

from __future__ import annotations

from bot.vocabulary.i18n import N_

# Mali's regions (law 2012-017, Ménaka and Taoudénit since 2016, nine more since 2023) and the
# District of Bamako. Proper nouns: not translated.
REGIONS: tuple[tuple[str, str], ...] = (
    ("bamako", "District de Bamako"),
    ("kayes", "Kayes"),
    ("koulikoro", "Koulikoro"),
    ("sikasso", "Sikasso"),
    ("segou", "Ségou"),
    ("mopti", "Mopti"),
    ("tombouctou", "Tombouctou"),
    ("gao", "Gao"),
    ("kidal", "Kidal"),
    ("menaka", "Ménaka"),
    ("taoudenit", "Taoudénit"),
    ("nioro", "Nioro"),
    ("kita", "Kita"),
    ("dioila", "Dioïla"),
    ("nara", "Nara"),
    ("bougouni", "Bougouni"),
    ("koutiala", "Koutiala"),
    ("san", "San"),
    ("douentza", "Douentza"),
    ("bandiagara", "Bandiagara"),
)
REGION_ALIASES: dict[str, str] = {"district de bamako": "bamako", "bko": "bamako"}

THEMES: tuple[tuple[str, str], ...] = (
    ("vbg", N_("Violences (VBG)")),
    ("participation", N_("Participation politique")),
    ("paix_securite", N_("Paix et sécurité (1325)")),
    ("economie", N_("Autonomisation économique")),
    ("sante", N_("Santé sexuelle (SSR)")),
    ("jeunesse", N_("Jeunesse")),
    ("education", N_("Éducation des filles")),
    ("climat", N_("Climat")),
)
THEME_ALIASES: dict[str, str] = {"gbv": "vbg", "1325": "paix_securite", "wps": "paix_securite"}

# Each language named in itself, so a member recognises their own.
LANGUAGE_NAMES: tuple[tuple[str, str], ...] = (
    ("fr", "Français"),
    ("bm", "Bamanankan"),
    ("ff", "Fulfulde"),
    ("ses", "Soŋay"),
    ("en", "English"),
)
LANGUAGE_ALIASES: dict[str, str] = {
    "francais": "fr",
    "french": "fr",
    "bambara": "bm",
    "bamana": "bm",
    "peul": "ff",
    "fulfulde": "ff",
    "pular": "ff",
    "songhay": "ses",
    "songhai": "ses",
    "sonrai": "ses",
    "anglais": "en",
}

ORGANISATION_KINDS: tuple[tuple[str, str], ...] = (
    ("ong_nationale", N_("ONG nationale")),
    ("ong_internationale", N_("ONG internationale")),
    ("association", N_("Association")),
    ("coalition", N_("Coalition")),
    ("reseau", N_("Réseau")),
    ("ocb", N_("Organisation communautaire de base")),
    ("groupement_feminin", N_("Groupement féminin")),
)

# Sex and age band: optional, asked at registration and in PROFIL, imported, targeted and
# disaggregated. "Prefer not to say" is stored as None, like not asked. Young people (15-35,
# the African Youth Charter's bounds) are a programme target: two bands below 36.
SEXES: tuple[tuple[str, str], ...] = (
    ("f", N_("Femme")),
    ("m", N_("Homme")),
)
AGE_BANDS: tuple[tuple[str, str], ...] = (
    ("15-24", "15-24"),
    ("25-35", "25-35"),
    ("36+", "36+"),
)
SEX_ALIASES: dict[str, str] = {
    "femme": "f", "woman": "f", "female": "f", "feminin": "f", "muso": "f", "debbo": "f",
    "woy": "f", "homme": "m", "man": "m", "male": "m", "masculin": "m", "ce": "m",
    "gorko": "m", "alboro": "m", "h": "m",
}  # fmt: skip
SEX_LABELS = dict(SEXES)
AGE_BAND_LABELS = dict(AGE_BANDS)

REGION_LABELS = dict(REGIONS)
KIND_LABELS = dict(ORGANISATION_KINDS)  # exports and pages show these, never the keys
THEME_LABELS = dict(THEMES)
LANGUAGE_LABELS = dict(LANGUAGE_NAMES)

# Kinds of activity a member reports (bot/report_line.py, storage/reports.py).
ACTIVITY_TYPES: tuple[tuple[str, str], ...] = (
    ("sensibilisation", N_("Sensibilisation")),
    ("formation", N_("Formation")),
    ("plaidoyer", N_("Plaidoyer")),
    ("accompagnement", N_("Accompagnement/référencement de survivantes")),
    ("campagne", N_("Campagne")),
    ("reunion", N_("Réunion de coordination")),
    ("autre", N_("Autre")),
)
# English and Bambara words members use (Bambara: kalan "learning", lasɔmi "awaken",
# lajɛ "meeting", wɛrɛ "other").
ACTIVITY_ALIASES: dict[str, str] = {
    "awareness": "sensibilisation",
    "sensitisation": "sensibilisation",
    "sensitization": "sensibilisation",
    "lasomi": "sensibilisation",
    "training": "formation",
    "atelier": "formation",
    "workshop": "formation",
    "kalan": "formation",
    "advocacy": "plaidoyer",
    "referencement": "accompagnement",
    "referral": "accompagnement",
    "support": "accompagnement",
    "campaign": "campagne",
    "marche": "campagne",
    "meeting": "reunion",
    "coordination": "reunion",
    "laje": "reunion",
    "other": "autre",
    "were": "autre",
}
ACTIVITY_LABELS = dict(ACTIVITY_TYPES)
