# ruff: noqa: E501  (phrase lists read better unwrapped)
"""Generate a deterministic set of directory profiles for the load benchmark (issue 2).

    python bench/gen_profiles.py --smes 10000 --startups 2000 --seed 2 -o /tmp/profiles.json

The output is the import format of ``flask import-profiles``. Texts are German
(some English and mixed) sentences built from domain phrase lists with compounds
(Eingangsrechnungen, Wartungsintervalle, Ertragsprognose ...), 2-6 sentences
each, so the search index gets a realistic vocabulary (a few thousand words)
and common words such as "Daten" or "Rechnung" match many profiles.
"""

import argparse
import json
import random
import sys

SECTORS = (
    "energy environment public_administration creative_industry manufacturing crafts logistics "
    "healthcare retail tourism agriculture_forestry construction it_services finance_consulting "
    "education chemicals other"
).split()
CATEGORIES = (
    "bookkeeping it_security predictive_maintenance energy_forecasting document_processing "
    "customer_service quality_inspection media_content translation hr logistics "
    "public_administration agri_environment sales_marketing knowledge_search process_automation "
    "data_analytics legal_compliance health_care training"
).split()
PLACES = {
    "Niederlausitz": ["Cottbus", "Kolkwitz", "Drebkau", "Peitz", "Burg (Spreewald)"],
    "Oberlausitz": ["Görlitz", "Bautzen", "Zittau", "Löbau", "Niesky", "Weißwasser/O.L."],
    "Spree-Neiße": ["Spremberg", "Forst (Lausitz)", "Guben", "Welzow", "Döbern"],
    "Oberspreewald-Lausitz": ["Senftenberg", "Lauchhammer", "Großräschen", "Lübbenau/Spreewald"],
    "Elbe-Elster": ["Finsterwalde", "Herzberg (Elster)", "Elsterwerda", "Bad Liebenwerda"],
    "Dahme-Spreewald": ["Lübben", "Luckau", "Königs Wusterhausen"],
    "Görlitz": ["Görlitz", "Rothenburg/O.L.", "Bad Muskau"],
    "Bautzen": ["Bautzen", "Hoyerswerda", "Kamenz", "Bischofswerda"],
    "Berlin": ["Berlin"],
    "Dresden": ["Dresden"],
    "Leipzig": ["Leipzig"],
}
NAME_A = (
    "Sonnenfeld Spreetal Lausitzer Neißetal Heidewinkel Elsterland Kiefernhain Tagebau-Süd "
    "Seenland Grubenrand Braunkohle Findling Weidenhof Birkengrund Erlenbruch Mühlental "
    "Schwarze-Pumpe Lindenhof Wiesengrund Eichenkamp Bergbau-Nord Fließtal Kranichsee Ostsachsen "
    "Oberland Flussaue Waldrand Lehmkuhle Sandberg Ziegelei Glashütte Tuchmacher Kohlebahn"
).split()
NAME_B = (
    "Metallbau Elektrotechnik Logistik Bäckerei Druckerei Energie Stadtwerke Pflegedienst "
    "Holzbau Landtechnik Spedition Steuerkanzlei Hotel Brauerei Kunststofftechnik Maschinenbau "
    "Solarpark Agrargenossenschaft Baustoffe Fensterbau Reisebüro Autohaus Medizintechnik "
    "Gießerei Dachdeckerei Tischlerei Wasserverband Klinikum Verlag Werbeagentur Textil "
    "Sanitärtechnik Glasbau Lackiererei Zimmerei Forstbetrieb Gärtnerei Kältetechnik"
).split()
FORMS = ["GmbH", "GmbH & Co. KG", "AG", "e.K.", "eG", "KG", "UG (haftungsbeschränkt)", "OHG"]
STARTUP_A = (
    "Beleg Daten Lausitz Smart Spree Neuro Kognito Prisma Pixel Quant Vektor Sensor Wissens "
    "Klar Blitz Lumen Nova Fokus Flux Kern Tensor Signal Muster Orbit Cortex Logik Delta"
).split()
STARTUP_B = (
    "Blitz Werk Labs Mind Wise Sense Flow Vision Scout Pilot Check Cloud Analytics Works "
    "Robotics Insight Lens Bot Forge Hub AI Metrics Guard Logic"
).split()

# Sentences of SME needs, by topic; {x} slots are filled from small word lists.
SME_DE = {
    "bookkeeping": [
        "Wir bekommen jeden Monat rund {n} Eingangsrechnungen per Post und E-Mail, die wir von Hand erfassen.",
        "Die Buchhaltung tippt Rechnungsnummern, Beträge und Steuersätze bisher manuell ins {erp} ab.",
        "Belegerfassung und Kontierung kosten unsere Buchhalterin jede Woche mehrere Stunden.",
        "Wir suchen eine Lösung, die Rechnungen ausliest und als DATEV-Buchungsstapel an die Steuerkanzlei übergibt.",
        "Mahnwesen und Zahlungsabgleich laufen noch über Excel-Listen.",
    ],
    "it_security": [
        "Nach einem Phishing-Vorfall im letzten Jahr wollen wir unsere IT-Sicherheit verbessern.",
        "Wir haben keinen eigenen IT-Sicherheitsbeauftragten und wissen nicht, welche Angriffe auf unser Netzwerk laufen.",
        "Gesucht ist eine Anomalieerkennung für Firewall-Logs und E-Mail-Postfächer.",
        "Die Mitarbeiterschulung zu Passwortsicherheit und Schadsoftware soll regelmäßiger werden.",
    ],
    "predictive_maintenance": [
        "Unsere {machine} fallen immer wieder ungeplant aus, die Stillstandszeiten sind teuer.",
        "Wir möchten Schwingungsdaten und Temperaturmessungen nutzen, um Wartungsintervalle vorherzusagen.",
        "Die Instandhaltung arbeitet bisher nach festen Wartungsplänen statt nach Zustand.",
        "Eine Früherkennung von Lagerschäden und Verschleiß würde uns viel Geld sparen.",
    ],
    "energy_forecasting": [
        "Wir betreiben Photovoltaikanlagen mit zusammen {n} kWp und brauchen bessere Ertragsprognosen.",
        "Die Day-Ahead-Prognosen für den Stromverbrauch liegen an wechselhaften Tagen deutlich daneben.",
        "Lastspitzen und Energiekosten wollen wir mit einer Verbrauchsprognose senken.",
        "Wir suchen eine KI-gestützte Prognose für Wärmebedarf und Speichersteuerung.",
    ],
    "document_processing": [
        "In unseren Aktenordnern liegen tausende eingescannte Lieferscheine, Verträge und Formulare.",
        "Wir brauchen Texterkennung (OCR) für handschriftliche Prüfprotokolle.",
        "Die Dokumentenablage soll automatisch verschlagworten und Fristen erkennen.",
        "Auftragsbestätigungen kommen als PDF und werden bisher abgetippt.",
    ],
    "customer_service": [
        "Unser Kundenservice beantwortet täglich dieselben Fragen am Telefon und per E-Mail.",
        "Ein Chatbot auf der Webseite könnte Terminanfragen und Statusabfragen übernehmen.",
        "Wir wollen Kundenanfragen automatisch sortieren und an die richtige Abteilung weiterleiten.",
        "Außerhalb der Öffnungszeiten soll ein Sprachassistent Rückrufwünsche aufnehmen.",
    ],
    "quality_inspection": [
        "Die Qualitätskontrolle prüft Schweißnähte und Oberflächen bisher per Sichtprüfung.",
        "Wir suchen eine Bilderkennung, die Kratzer, Risse und Maßabweichungen am Band erkennt.",
        "Die Ausschussquote in der Fertigung liegt bei {p} Prozent und soll sinken.",
        "Kameras an der Produktionslinie könnten Fehlteile früher aussortieren.",
    ],
    "media_content": [
        "Für Social Media und Newsletter fehlt uns die Zeit, regelmäßig Texte und Bilder zu erstellen.",
        "Produktbeschreibungen für den Onlineshop schreiben wir bisher selbst.",
        "Wir möchten Fotos und Videos aus unserem Archiv automatisch verschlagworten.",
    ],
    "translation": [
        "Viele Kunden kommen aus Polen und Tschechien, wir brauchen Übersetzungen unserer Unterlagen.",
        "Bedienungsanleitungen und Datenblätter sollen ins Englische und Polnische übersetzt werden.",
        "Im Alltag hilft uns eine Dolmetscher-App im Gespräch mit polnischen Fachkräften.",
    ],
    "hr": [
        "Wir finden kaum noch Fachkräfte und Auszubildende für unseren Betrieb.",
        "Bewerbungen gehen in der Personalabteilung unter, die Vorauswahl dauert Wochen.",
        "Die Schichtplanung für {n} Mitarbeitende machen wir noch mit Papier und Excel.",
        "Wir wollen die Einarbeitung neuer Mitarbeiter mit digitalen Lernmodulen unterstützen.",
    ],
    "logistics": [
        "Die Tourenplanung unserer {n} Fahrzeuge erfolgt jeden Morgen von Hand.",
        "Wir suchen eine Routenoptimierung, die Lieferfenster und Staus berücksichtigt.",
        "Lagerbestände und Nachbestellungen sollen automatisch geplant werden.",
        "Die Sendungsverfolgung für unsere Kunden ist noch lückenhaft.",
    ],
    "public_administration": [
        "Als kommunaler Betrieb bearbeiten wir viele Anträge und Bürgeranfragen.",
        "Die Antragsbearbeitung im Bauamt dauert zu lange, viele Unterlagen sind unvollständig.",
        "Wir wollen Verwaltungsvorgänge digitalisieren und Bescheide schneller erstellen.",
    ],
    "agri_environment": [
        "Auf unseren {n} Hektar Ackerfläche wollen wir Düngung und Bewässerung mit Satellitenbildern steuern.",
        "Wir suchen eine Früherkennung von Schädlingen und Trockenstress im Wald.",
        "Die Rekultivierung ehemaliger Tagebauflächen soll mit Drohnenbildern überwacht werden.",
        "Grundwasserstände und Bodenfeuchte messen wir an vielen Stellen, die Auswertung fehlt.",
    ],
    "sales_marketing": [
        "Wir möchten wissen, welche Kunden bald wieder bestellen, und gezielter anbieten.",
        "Angebotserstellung und Preiskalkulation dauern bei uns zu lange.",
        "Unser Vertrieb pflegt Kundendaten in drei verschiedenen Systemen.",
    ],
    "knowledge_search": [
        "Das Wissen erfahrener Kollegen geht verloren, wenn sie in Rente gehen.",
        "Wir suchen eine Wissensdatenbank, in der man Handbücher und Protokolle in eigenen Worten durchsuchen kann.",
        "Technische Zeichnungen und alte Projektunterlagen finden wir im Netzlaufwerk kaum wieder.",
    ],
    "process_automation": [
        "Viele Abläufe in der Auftragsabwicklung bestehen aus Kopieren und Einfügen zwischen Programmen.",
        "Wir wollen wiederkehrende Büroarbeiten automatisieren und Medienbrüche vermeiden.",
        "Die Bestellabwicklung mit Lieferanten läuft über Fax und E-Mail.",
    ],
    "data_analytics": [
        "Unsere Produktionsdaten liegen in vielen Tabellen, ausgewertet werden sie kaum.",
        "Wir möchten Kennzahlen aus Warenwirtschaft und Zeiterfassung in einem Dashboard sehen.",
        "Mit besseren Datenanalysen wollen wir Absatzmengen und Materialbedarf planen.",
        "Die Daten unserer Maschinen und Sensoren sollen zentral gesammelt und ausgewertet werden.",
    ],
    "legal_compliance": [
        "Datenschutz und DSGVO-Dokumentation überfordern unseren kleinen Betrieb.",
        "Verträge mit Lieferanten sollen auf Risiken und Fristen geprüft werden.",
        "Neue Vorschriften und Normen behalten wir kaum im Blick.",
    ],
    "health_care": [
        "In der Pflege kostet die Dokumentation jeden Tag viel Zeit.",
        "Wir suchen Unterstützung bei der Dienstplanung und Pflegedokumentation.",
        "Sturzerkennung und Vitaldatenüberwachung könnten unsere Pflegekräfte entlasten.",
    ],
    "training": [
        "Unsere Mitarbeitenden brauchen Schulungen, um KI-Werkzeuge sicher einzusetzen.",
        "Wir wollen verstehen, was künstliche Intelligenz für unseren Betrieb leisten kann.",
        "Ein Workshop zu Chancen und Grenzen von KI wäre ein guter Anfang.",
    ],
}
SME_EN = [
    "We receive about {n} supplier invoices a month and still key them in by hand.",
    "Our machines fail without warning and unplanned downtime is expensive.",
    "We are looking for a chatbot that answers routine customer questions.",
    "Energy forecasts for our solar plants are often wrong on cloudy days.",
    "We need OCR for scanned delivery notes and contracts.",
    "Our data sits in spreadsheets and nobody has time to analyse it.",
    "We want better IT security after a ransomware scare last year.",
    "Route planning for our delivery vans is done manually every morning.",
]
STARTUP_DE = {
    "bookkeeping": [
        "Unsere KI liest Eingangsrechnungen aus und schlägt Konto und Kostenstelle vor.",
        "Belege kommen per App-Foto oder E-Mail und landen als DATEV-Export bei der Steuerkanzlei.",
        "E-Rechnungen im XRechnung- und ZUGFeRD-Format verarbeiten wir direkt.",
    ],
    "it_security": [
        "Wir überwachen Netzwerke kleiner Unternehmen mit einer lernenden Angriffserkennung.",
        "Unser Phishing-Filter erkennt gefälschte E-Mails, bevor jemand klickt.",
        "Sicherheitsanalysen und Schwachstellenberichte erhalten unsere Kunden monatlich.",
    ],
    "predictive_maintenance": [
        "Funksensoren an Motoren und Pumpen melden Verschleiß Wochen vor dem Ausfall.",
        "Unsere Zustandsüberwachung lernt aus Schwingungsdaten und plant Wartungseinsätze.",
    ],
    "energy_forecasting": [
        "Wir liefern Ertragsprognosen für Photovoltaik- und Windparks im Viertelstundentakt.",
        "Unsere Lastprognose senkt Ausgleichsenergiekosten für Stadtwerke und Direktvermarkter.",
    ],
    "document_processing": [
        "Unsere Texterkennung liest auch Handschrift und schlecht gescannte Formulare.",
        "Dokumente werden automatisch klassifiziert, verschlagwortet und ins Archiv übertragen.",
    ],
    "customer_service": [
        "Unser Chatbot beantwortet Kundenfragen rund um die Uhr auf Deutsch, Polnisch und Englisch.",
        "Der Telefonassistent nimmt Anrufe an, erkennt das Anliegen und bucht Termine.",
    ],
    "quality_inspection": [
        "Kamerasysteme mit Bilderkennung prüfen Bauteile direkt an der Fertigungslinie.",
        "Wir erkennen Oberflächenfehler, Risse und Maßabweichungen in Echtzeit.",
    ],
    "media_content": [
        "Wir erstellen Produkttexte, Social-Media-Beiträge und Newsletter mit generativer KI.",
    ],
    "translation": [
        "Unsere Übersetzungsplattform ist auf Fachtexte aus Technik und Handwerk trainiert.",
    ],
    "hr": [
        "Unsere Bewerbermanagement-Software sortiert Bewerbungen und schlägt Gespräche vor.",
        "Die Schichtplanung berücksichtigt Wünsche, Qualifikationen und Arbeitszeitgesetz.",
    ],
    "logistics": [
        "Unsere Tourenoptimierung plant Lieferfahrten mit Zeitfenstern und Verkehrsdaten.",
        "Wir prognostizieren Lagerbedarf und lösen Nachbestellungen automatisch aus.",
    ],
    "public_administration": [
        "Für Kommunen digitalisieren wir Antragsverfahren und prüfen Unterlagen auf Vollständigkeit.",
    ],
    "agri_environment": [
        "Aus Satelliten- und Drohnenbildern berechnen wir Bodenfeuchte und Pflanzengesundheit.",
        "Wir überwachen Waldbrandgefahr und Schädlingsbefall in Kiefernwäldern.",
    ],
    "sales_marketing": [
        "Unsere Vertriebsanalyse zeigt, welche Kunden abwandern und wer bald nachbestellt.",
    ],
    "knowledge_search": [
        "Mit unserer semantischen Suche finden Mitarbeitende Antworten in Handbüchern und Protokollen.",
        "Wir bauen firmeneigene Wissensassistenten auf Basis großer Sprachmodelle.",
    ],
    "process_automation": [
        "Wir automatisieren Büroabläufe zwischen ERP, E-Mail und Tabellen ohne Programmierung.",
    ],
    "data_analytics": [
        "Wir führen Daten aus Maschinen, Warenwirtschaft und Zeiterfassung in Dashboards zusammen.",
        "Unsere Datenanalysen helfen bei Absatzplanung und Materialbedarf.",
        "Datenplattform und Datenaufbereitung kommen aus einer Hand.",
    ],
    "legal_compliance": [
        "Unsere Vertragsanalyse findet Risiken, Fristen und fehlende Klauseln.",
        "Wir unterstützen bei DSGVO-Dokumentation und Datenschutz-Folgenabschätzung.",
    ],
    "health_care": [
        "Die Pflegedokumentation per Spracheingabe spart Pflegekräften täglich eine Stunde.",
    ],
    "training": [
        "In praxisnahen Workshops zeigen wir Betrieben, wie sie KI sicher einsetzen.",
    ],
}
STARTUP_EN = [
    "We build computer vision for quality inspection on production lines.",
    "Our platform forecasts energy demand and solar yield for utilities.",
    "We offer chatbots and voice assistants for small businesses.",
    "Our OCR pipeline extracts data from invoices and delivery notes.",
    "We help SMEs analyse their machine and sales data.",
]
GENERIC_DE = [
    "Wir sind ein Familienunternehmen mit {n} Mitarbeitenden und seit {y} in der Region tätig.",
    "Unsere Kunden kommen vor allem aus Brandenburg und Sachsen.",
    "Eine Lösung sollte mit unserer vorhandenen Software funktionieren und einfach zu bedienen sein.",
    "Das Budget ist begrenzt, eine Förderung wäre hilfreich.",
    "Wir haben schon erste Erfahrungen mit Digitalisierungsprojekten gesammelt.",
    "Der Strukturwandel in der Lausitz stellt uns vor neue Aufgaben.",
    "Gegründet {y} in {city}, heute {n} Mitarbeitende.",
]
FILL = {
    "erp": ["Warenwirtschaftssystem", "ERP-System", "Lexware", "SAP Business One", "DATEV"],
    "machine": [
        "Pumpen",
        "Förderbänder",
        "CNC-Fräsen",
        "Kompressoren",
        "Spritzgussmaschinen",
        "Wechselrichter",
        "Kühlanlagen",
        "Motoren",
    ],
}
TAGS = (
    "OCR DATEV E-Rechnung Belegerfassung Chatbot Bilderkennung Zustandsüberwachung "
    "Ertragsprognose Lastprognose Texterkennung Routenplanung Schichtplanung Wissensmanagement "
    "Sprachmodelle Dashboards Datenanalyse Phishing Anomalieerkennung Drohnen Satellitendaten "
    "Übersetzung Bewerbermanagement Prozessautomatisierung DSGVO Pflegedokumentation Computer-Vision"
).split()


def fill(rng: random.Random, sentence: str, city: str) -> str:
    """Replace the {slots} of a template sentence."""
    return sentence.format(
        n=rng.choice([8, 12, 25, 40, 60, 85, 120, 200, 350, 500, 1200]),
        p=rng.choice([2, 3, 4, 5, 7]),
        y=rng.randint(1950, 2024),
        city=city,
        erp=rng.choice(FILL["erp"]),
        machine=rng.choice(FILL["machine"]),
    )


def text_for(rng, language, categories, pool_de, pool_en, city) -> str:
    """Build 2-6 sentences, mostly about the profile's categories."""
    count = rng.randint(2, 6)
    sentences: list[str] = []
    for _ in range(count):
        roll = rng.random()
        if language == "en" or (language == "mixed" and roll < 0.4):
            candidate = rng.choice(pool_en)
        elif roll < 0.8 and categories:
            candidate = rng.choice(pool_de[rng.choice(categories)])
        elif roll < 0.92:
            candidate = rng.choice(pool_de[rng.choice(CATEGORIES)])
        else:
            candidate = rng.choice(GENERIC_DE)
        sentence = fill(rng, candidate, city)
        if sentence not in sentences:
            sentences.append(sentence)
    return " ".join(sentences)


def place(rng: random.Random) -> tuple[str, str]:
    region = rng.choice(list(PLACES))
    return region, rng.choice(PLACES[region])


def generate(smes: int, startups: int, seed: int) -> dict:
    """Return the import document."""
    rng = random.Random(seed)
    document: dict = {"smes": [], "startups": []}
    for i in range(smes):
        region, city = place(rng)
        categories = rng.sample(CATEGORIES, rng.randint(1, 3))
        language = rng.choices(["de", "en", "mixed"], weights=[85, 8, 7])[0]
        document["smes"].append(
            {
                "id": f"bench-sme-{i:05d}",
                "name": f"{rng.choice(NAME_A)} {rng.choice(NAME_B)} {rng.choice(FORMS)} {i}",
                "sector": rng.choice(SECTORS),
                "city": city,
                "region": region,
                "employees": rng.choice([3, 5, 8, 12, 18, 25, 40, 60, 90, 140, 220, 480]),
                "language": language,
                "needs": text_for(rng, language, categories, SME_DE, SME_EN, city),
                "categories": categories,
            }
        )
    for i in range(startups):
        region, city = place(rng)
        categories = rng.sample(CATEGORIES, rng.randint(1, 3))
        language = rng.choices(["de", "en", "mixed"], weights=[70, 15, 15])[0]
        document["startups"].append(
            {
                "id": f"bench-st-{i:05d}",
                "name": f"{rng.choice(STARTUP_A)}{rng.choice(STARTUP_B).lower()} {rng.choice(FORMS[:2] + FORMS[6:7])} {i}",
                "city": city,
                "region": region,
                "employees": rng.choice([2, 3, 5, 8, 11, 15, 24, 40]),
                "language": language,
                "offering": text_for(rng, language, categories, STARTUP_DE, STARTUP_EN, city),
                "tags": rng.sample(TAGS, rng.randint(0, 5)),
                "categories": categories,
            }
        )
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smes", type=int, default=10_000)
    parser.add_argument("--startups", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=2)
    parser.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    args = parser.parse_args(argv)
    document = generate(args.smes, args.startups, args.seed)
    text = json.dumps(document, ensure_ascii=False, indent=1)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
