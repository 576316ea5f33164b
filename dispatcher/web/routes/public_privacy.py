"""The privacy notice shown with every sign-up, and its version.

Each sign-up records the version of the notice its form showed
(``Subscription.privacy_version``), so the office can always tell which text a
person agreed to. Changing the text means a new ``PRIVACY_VERSION`` setting; a form
loaded before the change is shown again with the new text rather than recording a
version its reader never saw.

The text is the office's to approve (it names the controller and the person's
rights under the GDPR).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dispatcher.office.reach import reach_newsletters
from dispatcher.web.i18n import DEFAULT_LANGUAGE, choose_language
from dispatcher.web.state import DbSession, State
from dispatcher.web.templating import render

PRIVACY_NOTICE: dict[str, tuple[str, ...]] = {
    "it": (
        "Titolare del trattamento è la Città metropolitana di Torino, corso Inghilterra 7, "
        "10138 Torino.",
        "Usiamo il tuo indirizzo email, il nome se lo indichi, la lingua e le newsletter "
        "che scegli solo per inviarti le newsletter. La base giuridica è il tuo consenso "
        "(art. 6, par. 1, lett. a del Regolamento UE 2016/679), che puoi revocare in "
        "qualsiasi momento con il link presente in ogni email.",
        "Come prova del consenso conserviamo la data, l'ora e l'indirizzo IP "
        "dell'iscrizione e della conferma, e la versione di questa informativa.",
        "Conserviamo i dati finché resti iscritto. Dopo la disiscrizione teniamo solo "
        "quanto serve a dimostrare il consenso dato e revocato e a non scriverti più.",
        "I dati non sono ceduti a terzi. Puoi chiedere l'accesso, la rettifica, la "
        "cancellazione o la limitazione dei tuoi dati, opporti al trattamento e proporre "
        "reclamo al Garante per la protezione dei dati personali.",
    ),
    "en": (
        "The controller is the Metropolitan City of Turin (Città metropolitana di Torino), "
        "corso Inghilterra 7, 10138 Torino, Italy.",
        "We use your email address, your name if you give it, your language and the "
        "newsletters you choose only to send you those newsletters. The legal basis is "
        "your consent (Art. 6(1)(a) of Regulation (EU) 2016/679), which you can withdraw "
        "at any time with the link in every email.",
        "As proof of consent we keep the date, time and IP address of your sign-up and "
        "confirmation, and the version of this notice.",
        "We keep your data while you are subscribed. After you unsubscribe we keep only "
        "what proves the consent given and withdrawn, and that we must not write to you.",
        "Your data is not passed on to anyone. You may ask for access to your data, its "
        "correction, erasure or restriction, object to its use, and complain to the "
        "Italian data protection authority (Garante per la protezione dei dati personali).",
    ),
}

# Said only while a newsletter has reach on (its `reach` setting), naming those newsletters.
REACH_NOTICE = {
    "it": "Per {names} contiamo, per ogni numero, quante volte è stato aperto ciascun link "
    "(i link passano da un indirizzo del nostro sito, uguale per tutti i lettori), quante "
    "volte è stata letta la versione web e quante disiscrizioni sono seguite. Sono solo "
    "totali: non registriamo chi ha cliccato o letto, né usiamo cookie o pixel.",
    "en": "For {names} we count, for each issue, how many times each link was followed "
    "(links go through an address on our site, the same for every reader), how many times "
    "the web version was read and how many unsubscriptions followed. These are totals "
    "only: we do not record who clicked or read, and use no cookies or pixels.",
}

router = APIRouter(include_in_schema=False)


def notice(language: str) -> tuple[str, ...]:
    """The notice's paragraphs in ``language`` (Italian when there is no translation)."""
    return PRIVACY_NOTICE.get(language, PRIVACY_NOTICE[DEFAULT_LANGUAGE])


@router.get("/privacy")
def privacy_page(request: Request, state: State, session: DbSession) -> Response:
    version = state.settings.web.privacy_version
    language = choose_language(request)
    paragraphs = notice(language)
    names = reach_newsletters(session)
    if names:
        reach = REACH_NOTICE.get(language, REACH_NOTICE[DEFAULT_LANGUAGE])
        paragraphs = (*paragraphs, reach.format(names=", ".join(names)))
    context = {"notice": paragraphs, "version": version}
    return render(request, "public/privacy.html", context)
