"""Writes annuaire-osc.csv: a fictitious national directory of CSOs, 300 rows, with the mess
of a real consultant's Excel file. Every name, number and address is invented.

    python docs/samples/make_directory.py    # rewrites docs/samples/annuaire-osc.csv

What is in it, on purpose (tests/storage/test_directory.py checks the dry run lists exactly
these problems):
- Windows Latin-1 encoding (é, è, ï) and `;` separators, as French Excel saves "CSV";
- numbers in every notation: `76 12 34 56`, `76123456`, `0022376123456`, `+223 76-12-34-56`,
  `76.12.34.56`; some people with two;
- 6 people entered twice (the second time with the number written otherwise): merged;
- one organisation typed as "AFEM" and "A.F.E.M.": one organisation;
- line 101 has no region (imported without one); line 202 has a bad phone and no other
  number (refused).
"""

from __future__ import annotations

import random
from pathlib import Path

HERE = Path(__file__).parent
HEADER = [
    "Nom et prénom", "Téléphone", "Téléphone 2", "Telegram", "Organisation", "Type",
    "Région", "Cercle/Commune", "Thèmes", "Langue", "Sexe", "Âge", "Fonction", "Email",
]  # fmt: skip
FIRST_F = [
    "Awa",
    "Aminata",
    "Fatoumata",
    "Mariam",
    "Kadiatou",
    "Oumou",
    "Rokia",
    "Salimata",
    "Hawa",
    "Djénéba",
    "Assitan",
    "Bintou",
    "Nana",
    "Tenin",
    "Korotoumou",
    "Safiatou",
]
FIRST_M = [
    "Moussa",
    "Boubacar",
    "Ibrahim",
    "Seydou",
    "Adama",
    "Bakary",
    "Mamadou",
    "Souleymane",
    "Oumar",
    "Drissa",
    "Lassine",
    "Youssouf",
]
LAST = [
    "Traoré",
    "Coulibaly",
    "Diarra",
    "Keïta",
    "Koné",
    "Sangaré",
    "Diallo",
    "Touré",
    "Maïga",
    "Cissé",
    "Dembélé",
    "Sidibé",
    "Sissoko",
    "Konaté",
    "Doumbia",
    "Bagayoko",
]
ORGANISATIONS = [
    ("AFEM", "Association"), ("Musow Ka Jama", "Groupement féminin"),
    ("ONG Kènèya", "ONG nationale"), ("Réseau des Jeunes Leaders", "Réseau"),
    ("Coalition Paix et Femmes", "Coalition"), ("WILDAF Mali", "ONG internationale"),
    ("Association Dioïla Sabati", "Association"), ("OCB Benkan", "Organisation communautaire de base"),
    ("Groupement Sini Sanuman", "Groupement féminin"), ("ONG Ségou Yiriwa", "ONG nationale"),
]  # fmt: skip
REGIONS = [
    ("Bamako", "Commune IV"),
    ("Kayes", "Diéma"),
    ("Koulikoro", "Kati"),
    ("Sikasso", "Koutiala"),
    ("Ségou", "Niono"),
    ("Mopti", "Djenné"),
    ("Tombouctou", "Goundam"),
    ("Gao", "Ansongo"),
    ("Dioïla", "Fana"),
    ("San", "Tominian"),
]
THEMES = [
    "VBG",
    "Participation politique",
    "Jeunesse",
    "Santé sexuelle (SSR)",
    "Autonomisation économique",
    "Éducation des filles",
    "1325",
    "Climat",
]
LANGUAGES = ["Français", "Bambara", "bm", "Fulfulde", "Songhay", "", "fr", "English"]
ROLES = [
    "Présidente",
    "Point focal",
    "Secrétaire générale",
    "Chargée de programme",
    "Trésorière",
    "Membre",
    "Coordinateur",
    "Animatrice",
]
AGES = ["15-24", "25-35", "36+", "22", "41", "19", "30 ans", "", "36 et plus"]
PREFIXES = ["76", "66", "70", "79", "65", "90", "75", "78", "69", "91"]
DUPLICATED_AT = (30, 75, 140, 160, 230, 270)  # people entered again further down
MISSING_REGION_LINE, BAD_PHONE_LINE = 101, 202


def notation(local: str, rng: random.Random) -> str:
    pairs = " ".join(local[i : i + 2] for i in range(0, 8, 2))
    return rng.choice([
        pairs, local, "00223" + local, "+223 " + "-".join(pairs.split()),
        ".".join(pairs.split()), "+223" + local,
    ])  # fmt: skip


def rows() -> list[list[str]]:
    rng = random.Random(17)
    used: set[str] = set()

    def number() -> str:
        while True:
            local = rng.choice(PREFIXES) + f"{rng.randrange(10**6):06d}"
            if local not in used:
                used.add(local)
                return local

    people: list[list[str]] = []
    numbers: list[str] = []
    while len(people) < 300 - len(DUPLICATED_AT):
        woman = rng.random() < 0.7
        first = rng.choice(FIRST_F if woman else FIRST_M)
        name = f"{first} {rng.choice(LAST)}"
        local = number()
        numbers.append(local)
        second = notation(number(), rng) if rng.random() < 0.2 else ""
        organisation, kind = rng.choice(ORGANISATIONS)
        if organisation == "AFEM" and rng.random() < 0.5:
            organisation = "A.F.E.M."
        region, cercle = rng.choice(REGIONS)
        themes = ", ".join(rng.sample(THEMES, rng.randint(1, 3)))
        sex = rng.choice(["F", "Femme", "féminin"] if woman else ["M", "H", "Homme"])
        if rng.random() < 0.1:
            sex = ""
        telegram = f"{first.lower()}_{len(people)}ml" if rng.random() < 0.15 else ""
        telegram = telegram.replace("é", "e").replace("ï", "i")
        email = f"{first.lower()}.{len(people)}@exemple.ml" if rng.random() < 0.3 else ""
        email = email.replace("é", "e").replace("ï", "i")
        people.append([
            name, notation(local, rng), second, telegram, organisation, kind, region, cercle,
            themes, rng.choice(LANGUAGES), sex, rng.choice(AGES), rng.choice(ROLES), email,
        ])  # fmt: skip
    # Entered twice: the same number, written otherwise, and a little less filled in.
    out: list[list[str]] = []
    for index, row in enumerate(people):
        out.append(row)
        if index in DUPLICATED_AT:
            again = list(row)
            pairs = " ".join(numbers[index][i : i + 2] for i in range(0, 8, 2))
            again[1] = "0022" + "3" + numbers[index] if "00223" not in row[1] else pairs
            again[2] = again[12] = again[13] = ""
            out.append(again)
    # File lines count the header as 1: row i of `out` is on line i + 2.
    out[MISSING_REGION_LINE - 2][6] = ""
    bad = out[BAD_PHONE_LINE - 2]
    bad[1], bad[2], bad[3] = "76 12 34", "", ""
    return out


def main() -> None:
    lines = [";".join(HEADER)] + [";".join(row) for row in rows()]
    (HERE / "annuaire-osc.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("latin-1"))


if __name__ == "__main__":
    main()
