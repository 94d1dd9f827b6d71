"""Seed the taxonomy: sectors and AI use-case categories, labelled in German and English.

Revision ID: 0002_seed_taxonomy
Revises: 0001_directory
Create Date: 2026-11-25 13:10:00

The lists are data: organisers may add rows later; this revision only writes the
starting set and removes exactly that set on downgrade.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_seed_taxonomy"
down_revision = "0001_directory"
branch_labels = None
depends_on = None

# code, German label, English label, keywords (lower case, comma-separated) to classify free text
SECTORS = [
    ("energy", "Energiewirtschaft", "Energy",
     "energ,strom,solar,photovolt,pv,wind,biogas,stadtwerk,kraftwerk,netzbetreib,power,utility,wärme,waerme,speicher"),
    ("environment", "Umwelttechnik und Entsorgung", "Environmental technology and waste",
     "umwelt,recycling,entsorg,abfall,wasser,abwasser,zweckverband,emission,environment,waste,water"),
    ("public_administration", "Öffentliche Verwaltung", "Public administration",
     "verwaltung,stadt,gemeinde,amt,landkreis,kommun,behörde,behoerde,municipal,administration,council,public"),
    ("creative_industry", "Kultur- und Kreativwirtschaft", "Creative industry",
     "kreativ,agentur,design,film,vfx,animation,theater,medien,studio,musik,verlag,creative,media,games"),
    ("manufacturing", "Produktion und Industrie", "Manufacturing",
     "produktion,fertigung,industrie,maschinenbau,metall,kunststoff,werk,papier,brauerei,manufactur,factory,plant,extru"),
    ("crafts", "Handwerk", "Crafts and trades", "handwerk,tischler,elektro,sanitär,sanitaer,bäcker,baecker,maler,dachdeck,craft"),
    ("logistics", "Logistik und Verkehr", "Logistics and transport",
     "logistik,spedition,transport,verkehr,lager,fuhrpark,logistics,freight,shipping"),
    ("healthcare", "Gesundheit und Pflege", "Health and care",
     "gesundheit,pflege,klinik,krankenhaus,praxis,arzt,health,care,hospital,medical"),
    ("retail", "Handel", "Retail and wholesale", "handel,einzelhandel,großhandel,grosshandel,shop,retail,e-commerce,wholesale"),
    ("tourism", "Tourismus und Gastgewerbe", "Tourism and hospitality",
     "touris,hotel,gastro,pension,restaurant,ferien,spreewald,hospitality"),
    ("agriculture_forestry", "Land- und Forstwirtschaft", "Agriculture and forestry",
     "landwirt,agrar,forst,wald,holz,acker,tierhaltung,agricultur,farm,forest"),
    ("construction", "Bau und Immobilien", "Construction and real estate",
     "bau,immobil,architekt,wohnungs,gebäude,gebaeude,construction,real estate,building"),
    ("it_services", "IT und Software", "IT and software", "software,it-,edv,systemhaus,rechenzentrum,hosting,saas"),
    ("finance_consulting", "Finanzen, Steuern und Beratung", "Finance, tax and consulting",
     "steuer,kanzlei,buchhaltung,bank,versicherung,beratung,wirtschaftsprüf,finance,tax,accounting,consult"),
    ("education", "Bildung und Forschung", "Education and research",
     "schule,hochschule,universität,universitaet,forschung,bildung,weiterbildung,education,research,training"),
    ("chemicals", "Chemie und Werkstoffe", "Chemicals and materials", "chemie,chemical,werkstoff,material,labor,raffiner"),
    ("other", "Sonstige", "Other", ""),
]

CATEGORIES = [
    ("bookkeeping", "Buchhaltung und Finanzen", "Bookkeeping and finance"),
    ("it_security", "IT-Sicherheit", "IT security"),
    ("predictive_maintenance", "Vorausschauende Wartung", "Predictive maintenance"),
    ("energy_forecasting", "Energieprognosen", "Energy forecasting"),
    ("document_processing", "Dokumentenverarbeitung und OCR", "Document processing and OCR"),
    ("customer_service", "Kundenservice und Chatbots", "Customer service and chatbots"),
    ("quality_inspection", "Qualitätsprüfung und Bildverarbeitung", "Quality inspection and computer vision"),
    ("media_content", "Medien, VFX und Content", "Media, VFX and content"),
    ("translation", "Übersetzung", "Translation"),
    ("hr", "Personal und Recruiting", "HR and recruiting"),
    ("logistics", "Logistik und Routenplanung", "Logistics and route planning"),
    ("public_administration", "Öffentliche Verwaltung", "Public administration"),
    ("agri_environment", "Land-, Forstwirtschaft und Umwelt", "Agriculture, forestry and environment"),
    ("sales_marketing", "Vertrieb und Marketing", "Sales and marketing"),
    ("knowledge_search", "Wissensmanagement und Suche", "Knowledge management and search"),
    ("process_automation", "Prozessautomatisierung", "Process automation"),
    ("data_analytics", "Datenanalyse und Business Intelligence", "Data analytics and business intelligence"),
    ("legal_compliance", "Recht, Datenschutz und Compliance", "Legal, data protection and compliance"),
    ("health_care", "Gesundheit und Pflege", "Health and care"),
    ("training", "KI-Schulung und Beratung", "AI training and consulting"),
]


def upgrade():
    sectors = sa.table(
        "sectors",
        sa.column("code", sa.String),
        sa.column("label_de", sa.String),
        sa.column("label_en", sa.String),
        sa.column("keywords", sa.Text),
        sa.column("position", sa.Integer),
    )
    categories = sa.table(
        "categories",
        sa.column("code", sa.String),
        sa.column("label_de", sa.String),
        sa.column("label_en", sa.String),
        sa.column("position", sa.Integer),
    )
    op.bulk_insert(
        sectors,
        [
            {"code": c, "label_de": de, "label_en": en, "keywords": kw, "position": i}
            for i, (c, de, en, kw) in enumerate(SECTORS)
        ],
    )
    op.bulk_insert(
        categories,
        [
            {"code": c, "label_de": de, "label_en": en, "position": i}
            for i, (c, de, en) in enumerate(CATEGORIES)
        ],
    )


def downgrade():
    op.execute(
        sa.text("DELETE FROM categories WHERE code IN :codes").bindparams(
            sa.bindparam("codes", [c[0] for c in CATEGORIES], expanding=True)
        )
    )
    op.execute(
        sa.text("DELETE FROM sectors WHERE code IN :codes").bindparams(
            sa.bindparam("codes", [s[0] for s in SECTORS], expanding=True)
        )
    )
