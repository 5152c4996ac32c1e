"""The processing register for the APDP declaration (Loi n° 2013-015), from the running
configuration: what is collected, why, how long, who sees what, which processors and the
countries data goes to, the security measures. Facts for the declaration, not legal advice.

`benkadi privacy register` prints it as Markdown or HTML; docs/processing-register.md is it for
the default configuration.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from html import escape
from urllib.parse import urlparse

from sqlalchemy.engine import make_url

from gateway.settings import Settings
from storage.database import normalise_url

NOT_ADVICE = (
    "Ce document rassemble les faits dont la déclaration à l'APDP a besoin, tirés de la "
    "configuration de ce Benkadi. Ce n'est pas un avis juridique : faites-le relire par la "
    "personne chargée de la protection des données de la coordination."
)


@dataclass
class Section:
    title: str
    text: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)
    table: list[tuple[str, ...]] = field(default_factory=list)  # first row: the header


def _kept(days: int | None) -> str:
    return "sans limite (configuration)" if days is None else f"{days} jours"


def _phone_rows(gateways: Sequence[tuple[str, str]]) -> list[tuple[str, ...]]:
    """Android phones sending SMS (storage/gateways): on the coordination's own network, or
    reached through a server on the internet (the app's cloud mode)."""
    rows: list[tuple[str, ...]] = []
    for name, base_url in gateways:
        host = urlparse(base_url).hostname or ""
        try:
            private = ipaddress.ip_address(host).is_private
        except ValueError:
            private = host == "localhost" or host.endswith((".local", ".lan"))
        if private:
            rows.append(
                (f"Téléphone « {name} » (SMS Gateway for Android)", "envoi et réception des SMS "
                 "par ses cartes SIM, sur le réseau de la coordination", "Mali (opérateur de la SIM)",
                 "numéros, textes des SMS ; le téléphone garde ses SMS")
            )  # fmt: skip
        else:
            rows.append(
                (f"Serveur {host} (téléphone « {name} », mode cloud)", "relais des SMS vers le "
                 "téléphone par internet", "celui du serveur (à compléter)",
                 "numéros, textes des SMS")
            )  # fmt: skip
    return rows


def sections(
    settings: Settings, today: date, gateways: Sequence[tuple[str, str]] = ()
) -> list[Section]:
    """The register; `gateways`: the Android phones' (name, base URL), from the database."""
    retention = settings.retention_schedule.days()
    channels = (
        (["Telegram"] if settings.telegram_enabled else [])
        + (["SMS", "WhatsApp"] if settings.twilio_enabled else [])
        + (["SMS (téléphones Android)"] if gateways else [])
    )
    url = make_url(normalise_url(settings.database_url))
    where_db = (
        "un fichier SQLite sur le serveur de la coordination"
        if url.get_backend_name() == "sqlite"
        else f"une base PostgreSQL sur l'hôte {url.host or 'local'}"
    )
    processors: list[tuple[str, ...]] = [
        ("Sous-traitant", "Rôle", "Pays où vont les données", "Données concernées"),
    ]
    if settings.twilio_enabled:
        processors.append(
            ("Twilio Inc.", "envoi et réception des SMS et WhatsApp", "États-Unis",
             "numéros de téléphone, textes des messages, statuts de remise ; photos des "
             "rapports (WhatsApp/MMS) jusqu'à leur réception : supprimées chez Twilio une fois "
             "enregistrées, refusées, effacées (OUBLIER) ou purgées, et 3 jours après leur "
             "arrivée si aucun rapport ne les prend (les pièces jointes suivantes : tout de "
             "suite)")
        )  # fmt: skip
        processors.append(
            ("Meta Platforms (WhatsApp), par Twilio", "acheminement WhatsApp",
             "États-Unis, Irlande (UE)", "numéros, textes des messages WhatsApp")
        )  # fmt: skip
        processors.append(
            ("Opérateurs mobiles (Orange Mali, Moov Africa Malitel, Telecel)",
             "remise des SMS", "Mali", "numéros, textes des SMS")
        )  # fmt: skip
    if settings.telegram_enabled:
        processors.append(
            ("Telegram (Telegram FZ-LLC)", "messagerie Telegram, photos des rapports",
             "Émirats arabes unis ; serveurs dans plusieurs pays (Pays-Bas, Singapour, "
             "États-Unis)", "identifiants Telegram, textes, photos")
        )  # fmt: skip
    processors += _phone_rows(gateways)
    if settings.phone_cloud:
        processors.append(
            (settings.phone_cloud, "sauvegarde des téléphones de la coordination (configuré)",
             "selon le fournisseur", "ce que les téléphones gardent (SMS, contacts)")
        )  # fmt: skip
    if len(processors) == 1:
        processors.append(
            ("aucun", "aucun canal configuré (simulateur)", "—", "—")
        )  # fmt: skip
    return [
        Section(
            "Responsable du traitement",
            [
                f"{settings.controller or settings.data_holder or '(à compléter : nom et adresse de la coordination)'}. "
                f"Registre établi le {today.isoformat()} à partir de la configuration.",
                f"Canaux en service : {', '.join(channels) or 'aucun (simulateur)'}. "
                f"Données hébergées dans {where_db}.",
            ],
        ),
        Section(
            "Finalité",
            [
                "Relier les organisations de la société civile du Mali qui travaillent sur les "
                "droits des femmes (dont les violences basées sur le genre) et la jeunesse : "
                "envoyer les alertes et campagnes de la coordination, recevoir les rapports "
                "d'activité (chiffres de bénéficiaires), mener des sondages de capacités. "
                "Aucune donnée sur les survivantes elles-mêmes n'est demandée : les rapports "
                "comptent des bénéficiaires, sans nom.",
                "Base : le consentement du membre, donné et daté à l'inscription ; il le retire "
                "par STOP (ne plus recevoir) ou OUBLIER (tout effacer).",
            ],
        ),
        Section(
            "Personnes et données",
            bullets=[
                "Membres (points focaux des OSC) : nom, organisation, région, cercle/commune, "
                "thèmes d'intérêt, langue, date de consentement ; sexe et tranche d'âge "
                "(facultatifs), fonction dans l'organisation, adresse e-mail, nom "
                "d'utilisateur Telegram ; pour les personnes importées du répertoire national : "
                "dates d'import, d'invitation, de rappel et de refus.",
                "Leurs adresses : numéro de téléphone (SMS, WhatsApp), identifiant Telegram ; "
                "désabonnement, blocage.",
                "Messages échangés avec le service (textes) et messages reçus de la "
                "coordination (diffusions, avec leur statut de remise).",
                "Réponses aux sondages de la coordination.",
                "Rapports d'activité : activité, date, lieu, nombre de femmes, hommes, filles, "
                "garçons touchés, description libre, photo (sans métadonnées : position GPS, "
                "appareil et date retirés à la réception).",
                "Personnes qui écrivent sans s'inscrire : leur numéro ou identifiant et leurs "
                "messages.",
                "Équipe de la coordination : comptes de la console (nom, identifiant, mot de "
                "passe haché argon2), jetons d'API (hachés), journal d'audit de leurs actions.",
            ],
        ),
        Section(
            "Durées de conservation",
            table=[
                ("Données", "Conservées", "Ensuite"),
                (
                    "Textes des messages et des réponses, dialogues en cours",
                    _kept(retention["messages"]),
                    "textes effacés, le décompte reste",
                ),
                (
                    "Lignes de remise des diffusions (qui a reçu quoi)",
                    _kept(retention["deliveries"]),
                    "seuls les totaux par canal et statut restent",
                ),
                (
                    "Texte libre, photo et auteur des rapports d'activité",
                    _kept(retention["report_text"]),
                    "seuls les chiffres restent",
                ),
                (
                    "Texte libre des réponses aux sondages",
                    _kept(retention["poll_text"]),
                    "texte effacé, la réponse reste comptée",
                ),
                (
                    "Membres partis (STOP partout) ou sans consentement ; personnes jamais "
                    "inscrites",
                    _kept(retention["departed"]),
                    "effacés comme par OUBLIER ; d'un numéro qui a dit STOP restent le numéro "
                    "et la date, pour ne plus jamais lui écrire",
                ),
                ("Membres actifs", "tant qu'ils restent membres", "OUBLIER efface tout"),
                (
                    "Liste d'effacement : pour chaque numéro ou identifiant d'une personne "
                    "effacée à sa demande (OUBLIER), une empreinte HMAC-SHA256 sous la clé "
                    "secrète du déploiement (jamais le numéro) et la date, pour ne jamais la "
                    "réimporter, l'inviter ni lui envoyer de code",
                    _kept(retention["erased"]),
                    "empreinte supprimée ; elle l'est aussi dès que la personne se réinscrit "
                    "elle-même depuis ce numéro",
                ),
                (
                    "Sauvegardes chiffrées",
                    "selon la rotation choisie (README : une semaine)",
                    "fichiers détruits",
                ),
            ],
        ),
        Section(
            "Qui voit quoi (rôles)",
            table=[
                ("Rôle", "Accès"),
                (
                    "admin",
                    "tout, dont les comptes, les jetons et la copie des données d'un "
                    "membre (droit d'accès)",
                ),
                (
                    "secretariat",
                    "membres avec numéros, messages, diffusions, rapports, sondages, exports",
                ),
                (
                    "viewer",
                    "membres avec numéros masqués, sans les textes des messages ; pas "
                    "d'export des rapports",
                ),
                (
                    "partenaires",
                    "seulement l'export « partner » : totaux sans organisation, "
                    "personne, commune, jour ni texte ; effectifs de moins de 5 masqués",
                ),
            ],
        ),
        Section("Sous-traitants et transferts hors du Mali", table=processors),
        Section(
            "Mesures de sécurité",
            bullets=[
                "Webhooks des fournisseurs vérifiés (signature Twilio, secret Telegram) avant "
                "toute lecture ; refus sans rien enregistrer.",
                "Console : mots de passe hachés (argon2), sessions chiffrées, rôles, "
                "protection CSRF ; jetons d'API hachés ; chaque action dans le journal d'audit.",
                "Numéros masqués pour le rôle viewer ; aucun numéro, texte ni jeton dans les "
                "journaux techniques.",
                "Durées de conservation appliquées chaque jour ; sur SQLite, les textes effacés "
                "sont écrasés dans le fichier (secure_delete) et le journal WAL vidé.",
                "Photos réenregistrées sans métadonnées (GPS, appareil) ; celles reçues par "
                "WhatsApp ou MMS sont ensuite supprimées chez Twilio (nouvel essai jusqu'à ce "
                "que Twilio confirme).",
                "Exports pour l'extérieur : effectifs de moins de 5 masqués (« < 5 »).",
                "Sauvegardes : un fichier chiffré (AES-256-GCM, clé dérivée d'une phrase "
                "secrète par scrypt), à garder hors du serveur.",
                "Mode discret"
                + (" activé" if settings.discreet else " disponible")
                + " : nom neutre du service et libellés neutres sur les téléphones partagés.",
                "Accès public en HTTPS"
                if settings.public_url.startswith("https://")
                else "À faire : servir l'adresse publique en HTTPS (BENKADI_PUBLIC_URL).",
            ],
        ),
        Section(
            "Droits des personnes",
            bullets=[
                "Accès : le membre envoie MES DONNÉES (résumé) ; la copie complète (HTML et "
                "JSON) par `benkadi privacy export` ou la console (admin).",
                "Rectification : PROFIL.",
                "Opposition : STOP (sur chaque canal).",
                "Effacement : OUBLIER ; seule une empreinte (HMAC) de chaque numéro ou "
                "identifiant reste, sur la liste d'effacement, pour qu'aucun import ne la "
                "recontacte ; la personne la lève en se réinscrivant elle-même.",
            ],
        ),
        Section("Avertissement", [NOT_ADVICE]),
    ]


def as_markdown(parts: list[Section]) -> str:
    lines = ["# Registre des traitements — Benkadi", ""]
    for part in parts:
        lines += [f"## {part.title}", ""]
        for paragraph in part.text:
            lines += [paragraph, ""]
        if part.bullets:
            lines += [f"- {bullet}" for bullet in part.bullets] + [""]
        if part.table:
            header, *rows = part.table
            lines.append("| " + " | ".join(header) + " |")
            lines.append("|" + " --- |" * len(header))
            lines += ["| " + " | ".join(row) + " |" for row in rows]
            lines.append("")
    return "\n".join(lines)


def as_html(parts: list[Section]) -> str:
    out = [
        "<!doctype html><html lang='fr'><head><meta charset='utf-8'>"
        "<title>Registre des traitements — Benkadi</title>"
        "<style>body{font-family:sans-serif;margin:2em;max-width:60em}"
        "table{border-collapse:collapse}th,td{border:1px solid #999;padding:.2em .5em;"
        "text-align:left;vertical-align:top}</style></head><body>",
        "<h1>Registre des traitements — Benkadi</h1>",
    ]
    for part in parts:
        out.append(f"<h2>{escape(part.title)}</h2>")
        out += [f"<p>{escape(paragraph)}</p>" for paragraph in part.text]
        if part.bullets:
            out.append("<ul>" + "".join(f"<li>{escape(b)}</li>" for b in part.bullets) + "</ul>")
        if part.table:
            header, *rows = part.table
            out.append(
                "<table><tr>" + "".join(f"<th>{escape(h)}</th>" for h in header) + "</tr>"
                + "".join(
                    "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
                    for row in rows
                )
                + "</table>"
            )  # fmt: skip
    out.append("</body></html>")
    return "".join(out)
