"""What the order workflow writes to the team: back-office tickets' subjects and notes, and the
notes that solve them, in the team's language (OrderPolicy.team_locale, French by default).

One table, so a wording is changed in one place and both languages stay side by side.
"""

from __future__ import annotations

from typing import Literal

TextKey = Literal[
    "commissioning_failed",
    "commissioning_passed",
    "no_report",
    "billing_hold",
    "billing_released",
    "invoice_to_validate",
    "invoice_validated",
    "incident",
    "incident_recovered",
    "low_csat",
    "payment_overdue",
    "payment_received",
    "visit_to_confirm",
    "visit_confirmed",
]

# key -> locale -> (subject, note). Solving notes have no subject ("").
_TEXTS: dict[str, dict[str, tuple[str, str]]] = {
    "commissioning_failed": {
        "fr": (
            "Commande {number} : mise en service échouée (visite {attempt})",
            "Les tests du technicien ont échoué lors de la visite {attempt} : {failed}. Une nouvelle "
            "visite est proposée au client ({when}) ; vérifiez l'installation avant celle-ci.",
        ),
        "en": (
            "Order {number}: commissioning failed (visit {attempt})",
            "The technician's tests failed on visit {attempt}: {failed}. A new visit is offered to "
            "the customer ({when}); check the installation before it.",
        ),
    },
    "commissioning_passed": {
        "fr": (
            "",
            "Visite {attempt} : mise en service validée ({tests} test(s) conformes). Résolu par le workflow.",
        ),
        "en": ("", "Visit {attempt}: commissioning passed ({tests} test(s) passed). Solved by the workflow."),
    },
    "no_report": {
        "fr": (
            "Commande {number} : pas de rapport de mise en service ({escalations}/{max})",
            "Aucun rapport de mise en service n'est arrivé à temps pour {visit}. Contactez le "
            "technicien ; la commande attend son rapport.",
        ),
        "en": (
            "Order {number}: no commissioning report ({escalations}/{max})",
            "No commissioning report arrived in time for {visit}. Contact the technician; the "
            "order waits for the report.",
        ),
    },
    "billing_hold": {
        "fr": (
            "Commande {number} : la facturation attend {count} ligne(s)",
            "Ces lignes n'ont pas de statut de facturation : {lines}. Indiquez pour chacune si elle "
            "est facturable ou non ; la facture est préparée juste après.",
        ),
        "en": (
            "Order {number}: billing waits for {count} line(s)",
            "These lines have no billable status: {lines}. Mark each one billable or not "
            "billable; the invoice is prepared right after.",
        ),
    },
    "billing_released": {
        "fr": (
            "",
            "Chaque ligne a son statut de facturation : facture {invoice} préparée. Résolu par le workflow.",
        ),
        "en": ("", "Every line has a billable status: invoice {invoice} prepared. Solved by the workflow."),
    },
    "invoice_to_validate": {
        "fr": (
            "Commande {number} : facture à valider ({amount})",
            "La facture brouillon de la commande {number} ({amount} TTC) attend la validation d'une "
            "personne du rôle facturation : vérifiez-la, corrigez-la si besoin, puis validez-la "
            "(elle sera alors numérotée et envoyée au client).",
        ),
        "en": (
            "Order {number}: invoice to validate ({amount})",
            "The draft invoice of order {number} ({amount} incl. VAT) waits for someone in the "
            "billing role: check it, correct it if needed, then validate it (it is then numbered "
            "and sent to the customer).",
        ),
    },
    "invoice_validated": {
        "fr": ("", "Facture {invoice} validée par {by} et envoyée au client. Résolu par le workflow."),
        "en": ("", "Invoice {invoice} validated by {by} and sent to the customer. Solved by the workflow."),
    },
    "incident": {
        "fr": (
            "Commande {number} : échec de l'étape {stage} ({error})",
            "Le workflow de la commande s'est arrêté à l'étape {stage} : {error}{detail}. Exécution "
            "{execution}. Corrigez la cause puis relancez le workflow : les étapes terminées ne "
            "sont pas refaites.",
        ),
        "en": (
            "Order {number}: {stage} failed ({error})",
            "The order workflow stopped at {stage}: {error}{detail}. Execution {execution}. Fix "
            "the cause, then restart the workflow: finished steps are not repeated.",
        ),
    },
    "incident_recovered": {
        "fr": ("", "L'étape {stage} est passée après la relance du workflow. Résolu par le workflow."),
        "en": ("", "The {stage} step went through after the workflow was restarted. Solved by the workflow."),
    },
    "low_csat": {
        "fr": (
            "Commande {number} : satisfaction {score}/5",
            "Le client a noté sa commande {score}/5{comment}. Rappelez-le pour comprendre ce qui "
            "n'a pas été.",
        ),
        "en": (
            "Order {number}: satisfaction {score}/5",
            "The customer rated the order {score}/5{comment}. Call them back to understand what went wrong.",
        ),
    },
    "payment_overdue": {
        "fr": (
            "Facture {invoice} impayée ({amount}, échue le {due})",
            "La facture {invoice} de la commande {number} ({amount} TTC) était due le {due} et "
            "n'est pas payée. Relances envoyées : {reminders}. Contactez le client.",
        ),
        "en": (
            "Invoice {invoice} unpaid ({amount}, due {due})",
            "Invoice {invoice} of order {number} ({amount} incl. VAT) was due on {due} and is "
            "unpaid. Reminders sent: {reminders}. Contact the customer.",
        ),
    },
    "payment_received": {
        "fr": ("", "Paiement de la facture {invoice} enregistré le {at} par {by}. Résolu."),
        "en": ("", "Payment of invoice {invoice} recorded on {at} by {by}. Solved."),
    },
    "visit_to_confirm": {
        "fr": (
            "Commande {number} : nouvelle visite à confirmer par le client",
            "Une nouvelle visite ({when}) a été proposée au client après l'échec de la visite "
            "{attempt}. Elle attend sa confirmation (ou le choix d'un autre créneau).",
        ),
        "en": (
            "Order {number}: new visit for the customer to confirm",
            "A new visit ({when}) was offered to the customer after visit {attempt} failed. It "
            "waits for their confirmation (or another slot).",
        ),
    },
    "visit_confirmed": {
        "fr": ("", "Le client a confirmé la visite du {when}. Résolu par le workflow."),
        "en": ("", "The customer confirmed the visit on {when}. Solved by the workflow."),
    },
}


class _Fields(dict[str, str]):
    """A missing field renders empty rather than failing a workflow step."""

    def __missing__(self, key: str) -> str:
        return ""


def team_text(key: TextKey, locale: str, **fields: object) -> tuple[str, str]:
    """(subject, note) in the team's language (French unless ``locale`` is English)."""
    lang = "en" if locale[:2] == "en" else "fr"
    subject, note = _TEXTS[key][lang]
    values = _Fields({name: str(value) for name, value in fields.items()})
    return subject.format_map(values), note.format_map(values)
