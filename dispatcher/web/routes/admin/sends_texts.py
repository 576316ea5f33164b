"""The desk's send actions and live progress: texts, Italian first, English available.

``{count}`` values arrive already formatted the page's way ("2.027" on Italian pages).
A question has a ``.one`` and a ``.many`` form. Refusals that come from the core are
mapped to these texts by exception class in :data:`REFUSALS`, the one place that does it.
"""

from __future__ import annotations

from dispatcher.errors import InputError, NotFoundError, StateError
from dispatcher.office.approvals import NotApprovedError
from dispatcher.office.calendar import BlockOverrideError, CalendarRefusedError
from dispatcher.web.i18n import add_texts

#: Core refusals by class, the most specific first: the key of the page's explanation.
#: A calendar refusal says which rule refused and the next allowed time (the admin's
#: ``problem.calendar_*`` texts); the others need no values but the send's state.
REFUSALS: tuple[tuple[type[Exception], str], ...] = (
    (NotApprovedError, "sendact.refused.not_approved"),
    (CalendarRefusedError, "problem.calendar"),
    (BlockOverrideError, "sendact.refused.override"),
    (StateError, "sendact.refused.state"),
    (NotFoundError, "sendact.refused.not_found"),
    (InputError, "sendact.refused.no_list"),  # the one input a send action takes
)

TEXTS = {
    "it": {
        "sendact.title.now": "Invia ora",
        "sendact.title.resend": "Invia a chi non l'ha ricevuta",
        "sendact.title.late": "Invia ai nuovi iscritti",
        "sendact.title.correction": "Invia una correzione",
        "sendact.title.retry": "Riprova gli errori temporanei",
        "sendact.title.pause": "Metti in pausa",
        "sendact.title.resume": "Riprendi",
        "sendact.title.cancel": "Annulla l'invio",
        "sendact.confirm_title": "Conferma: {action}",
        "sendact.ask.now.one": "Invia ora a {count} iscritto di {newsletter}?",
        "sendact.ask.now.many": "Invia ora a {count} iscritti di {newsletter}?",
        "sendact.ask.resend.one": "Invia ora a {count} iscritto di {newsletter} che non "
        "l'ha ricevuta?",
        "sendact.ask.resend.many": "Invia ora a {count} iscritti di {newsletter} che non "
        "l'hanno ricevuta?",
        "sendact.ask.late.one": "Invia ora a {count} nuovo iscritto di {newsletter}?",
        "sendact.ask.late.many": "Invia ora a {count} nuovi iscritti di {newsletter}?",
        "sendact.ask.correction.one": "Invia la correzione a {count} persona che ha "
        "ricevuto l'edizione corretta?",
        "sendact.ask.correction.many": "Invia la correzione alle {count} persone che hanno "
        "ricevuto l'edizione corretta?",
        "sendact.ask.retry.one": "Riprova ora {count} messaggio non consegnato per un "
        "errore temporaneo?",
        "sendact.ask.retry.many": "Riprova ora {count} messaggi non consegnati per un "
        "errore temporaneo?",
        "sendact.ask.pause.one": "Metti in pausa l'invio {send}? Resta {count} messaggio "
        "da inviare.",
        "sendact.ask.pause.many": "Metti in pausa l'invio {send}? Restano {count} messaggi "
        "da inviare.",
        "sendact.ask.resume.one": "Riprendi l'invio {send}? Resta {count} messaggio da inviare.",
        "sendact.ask.resume.many": "Riprendi l'invio {send}? Restano {count} messaggi da inviare.",
        "sendact.ask.cancel.one": "Annulla l'invio {send}? {count} messaggio non ancora "
        "partito non sarà inviato.",
        "sendact.ask.cancel.many": "Annulla l'invio {send}? {count} messaggi non ancora "
        "partiti non saranno inviati.",
        "sendact.what.now": "La newsletter parte subito: i messaggi escono a gruppi e la "
        "pagina dell'invio mostra l'avanzamento. Nessuno la riceve due volte.",
        "sendact.what.resend": "Ricevono l'edizione solo gli iscritti delle liste che non "
        "l'hanno già ricevuta; chi l'ha già avuta non la riceve di nuovo.",
        "sendact.what.late": "Ricevono l'edizione gli iscritti arrivati dopo l'invio {send}, "
        "che non ne hanno ancora nessuna copia.",
        "sendact.what.correction": "L'edizione correttiva parte subito verso chi ha ricevuto "
        "l'edizione corretta; i messaggi dell'edizione corretta non ancora partiti sono "
        "sostituiti dalla correzione, così nessuno riceve entrambe.",
        "sendact.what.retry": "I messaggi che il server ha rinviato con un errore temporaneo "
        "(codici 4xx) vengono riprovati subito.",
        "sendact.what.pause": "I messaggi smettono di partire entro circa 100 messaggi o 2 "
        "secondi. Potrai riprendere l'invio quando vuoi.",
        "sendact.what.resume": "L'invio riparte da dove si era fermato; nessuno riceve il "
        "messaggio due volte.",
        "sendact.what.cancel": "I messaggi già partiti restano partiti; gli altri non "
        "partiranno più. Non si può tornare indietro.",
        "sendact.edition": "Edizione",
        "sendact.send": "Invio",
        "sendact.edition_value": "n. {number}: {subject}",
        "sendact.corrected": "Corregge",
        "sendact.lists": "Liste",
        "sendact.count.reaching": "Destinatari",
        "sendact.count.control": "Messaggi interessati",
        "sendact.override": "Deroga al calendario",
        "sendact.yes.now": "Sì, invia ora",
        "sendact.yes.resend": "Sì, invia ora",
        "sendact.yes.late": "Sì, invia ora",
        "sendact.yes.correction": "Sì, invia la correzione",
        "sendact.yes.retry": "Sì, riprova ora",
        "sendact.yes.pause": "Sì, metti in pausa",
        "sendact.yes.resume": "Sì, riprendi",
        "sendact.yes.cancel": "Sì, annulla l'invio",
        "sendact.no": "No, torna indietro",
        "sendact.changed": "Nel frattempo la situazione è cambiata: la conferma era per "
        "{before} e ora sono {count}. Controlla di nuovo e conferma.",
        "sendact.changed_state": "Nel frattempo la situazione è cambiata. Controlla di nuovo "
        "e conferma.",
        "sendact.already": "Questa edizione è già stata inviata a: {named}. Per raggiungere "
        "chi non l'ha ricevuta, apri l'invio e scegli «Invia a chi non l'ha ricevuta».",
        "sendact.already_item": "{slug} (invio {send})",
        "sendact.nobody": "Non c'è nessuno da raggiungere: non resta nessuno che non l'abbia "
        "già ricevuta, o le liste non hanno iscritti confermati. Non parte nulla.",
        "sendact.nothing": "Non c'è nessun messaggio interessato: non cambierebbe nulla.",
        "sendact.refused_title": "Non è possibile",
        "sendact.refused.not_approved": "L'edizione da inviare non è approvata nella versione "
        "attuale: un approvatore deve approvarla prima dell'invio.",
        "sendact.refused.override": "La deroga a un blocco del calendario richiede un "
        "amministratore e una motivazione.",
        "sendact.refused.state": "Non è possibile ora: l'invio {send} è «{state}».",
        "sendact.refused.state_edition": "Non è possibile ora: la situazione dell'edizione è "
        "cambiata. Ricarica la pagina e riprova.",
        "sendact.refused.not_found": "Quello che hai chiesto non esiste più.",
        "sendact.refused.no_list": "Scegli almeno una lista a cui inviare.",
        "sendact.back_edition": "Torna all'edizione",
        "sendact.back_send": "Torna all'invio",
        "sendact.done.now": "Invio {send} partito: {count} destinatari.",
        "sendact.done.resend": "Invio {send} partito: {count} destinatari.",
        "sendact.done.late": "Invio {send} ai nuovi iscritti partito: {count} destinatari.",
        "sendact.done.correction": "Correzione partita (invio {send}): {count} destinatari.",
        "sendact.done.retry": "Messaggi da riprovare: {count}.",
        "sendact.done.pause": "Invio messo in pausa.",
        "sendact.done.resume": "Invio ripreso.",
        "sendact.done.cancel": "Invio annullato: {count} messaggi non partiranno.",
        "sendpage.title": "Invio {send}",
        "sendpage.heading": "Invio {send}: {subject}",
        "sendpage.kind.late": "ai nuovi iscritti dopo l'invio {parent}",
        "sendpage.kind.correction": "correzione dell'invio {parent}",
        "sendpage.kind.dry_run": "prova senza invio",
        "sendpage.state": "Stato",
        "sendpage.lists": "Liste",
        "sendpage.progress": "Avanzamento",
        "sendpage.percent": "{percent}% completato",
        "sendpage.sent": "Inviati",
        "sendpage.failed": "Non consegnati",
        "sendpage.deferred": "Da riprovare",
        "sendpage.remaining": "Da inviare",
        "sendpage.total": "Totale",
        "sendpage.rate": "Velocità",
        "sendpage.rate_value": "{rate} messaggi al secondo",
        "sendpage.eta": "Tempo rimanente stimato",
        "sendpage.started": "Partito il",
        "sendpage.finished": "Concluso il",
        "sendpage.reason": "Motivo",
        "sendpage.reason.pause": "Messo in pausa dalla scrivania da {actor}",
        "sendpage.reason.cancel": "Annullato dalla scrivania da {actor}",
        "sendpage.failures": "Errori, raggruppati per risposta del server",
        "sendpage.failures_none": "Nessun errore finora.",
        "sendpage.col_count": "Messaggi",
        "sendpage.col_status": "Esito",
        "sendpage.col_code": "Codice",
        "sendpage.col_reply": "Risposta del server",
        "sendpage.live": "La pagina si aggiorna da sola ogni 2 secondi.",
        "sendpage.refresh": "Aggiorna la pagina",
        "sendpage.live_pause": "Ferma l'aggiornamento automatico",
        "sendpage.live_resume": "Riprendi l'aggiornamento automatico",
        "sendpage.live_paused": "Aggiornamento automatico fermo.",
        "sendpage.summary": "{state}: {percent}% completato, {sent} inviati, {failed} non "
        "consegnati, {remaining} da inviare.",
        "sendpage.actions": "Azioni",
        "sendpage.correcting": "Edizione correttiva",
        "sendpage.no_corrections": "Nessun'altra edizione di questa newsletter può correggerla.",
        "sendpage.console": "Console degli operatori",
        "sendpage.desk_link": "Segui l'invio",
        "admin.console": "Console",
        "consolelive.pause": "Ferma l'aggiornamento automatico",
        "consolelive.resume": "Riprendi l'aggiornamento automatico",
        "consolelive.paused": "Aggiornamento automatico fermo: i dati restano quelli mostrati.",
        "consolelive.refresh": "Aggiorna la pagina",
        "consolelive.desk": "Vai alla scrivania",
        "consolelive.announce_state": "Invio {send}: {state}",
        "consolelive.announce_workers": "Processi di invio attivi: {n}",
    },
    "en": {
        "sendact.title.now": "Send now",
        "sendact.title.resend": "Send to those who did not get it",
        "sendact.title.late": "Send to new subscribers",
        "sendact.title.correction": "Send a correction",
        "sendact.title.retry": "Retry temporary failures",
        "sendact.title.pause": "Pause",
        "sendact.title.resume": "Resume",
        "sendact.title.cancel": "Cancel the send",
        "sendact.confirm_title": "Confirm: {action}",
        "sendact.ask.now.one": "Send now to {count} subscriber of {newsletter}?",
        "sendact.ask.now.many": "Send now to {count} subscribers of {newsletter}?",
        "sendact.ask.resend.one": "Send now to {count} subscriber of {newsletter} who did "
        "not get it?",
        "sendact.ask.resend.many": "Send now to {count} subscribers of {newsletter} who did "
        "not get it?",
        "sendact.ask.late.one": "Send now to {count} new subscriber of {newsletter}?",
        "sendact.ask.late.many": "Send now to {count} new subscribers of {newsletter}?",
        "sendact.ask.correction.one": "Send the correction to {count} person who received "
        "the corrected edition?",
        "sendact.ask.correction.many": "Send the correction to the {count} people who "
        "received the corrected edition?",
        "sendact.ask.retry.one": "Retry now {count} message that failed temporarily?",
        "sendact.ask.retry.many": "Retry now {count} messages that failed temporarily?",
        "sendact.ask.pause.one": "Pause send {send}? {count} message is left to send.",
        "sendact.ask.pause.many": "Pause send {send}? {count} messages are left to send.",
        "sendact.ask.resume.one": "Resume send {send}? {count} message is left to send.",
        "sendact.ask.resume.many": "Resume send {send}? {count} messages are left to send.",
        "sendact.ask.cancel.one": "Cancel send {send}? {count} message not sent yet will "
        "not be sent.",
        "sendact.ask.cancel.many": "Cancel send {send}? {count} messages not sent yet will "
        "not be sent.",
        "sendact.what.now": "The newsletter goes out at once: messages leave in batches and "
        "the send's page shows the progress. Nobody receives it twice.",
        "sendact.what.resend": "Only the lists' subscribers who did not receive the edition "
        "get it; those who had it do not get it again.",
        "sendact.what.late": "Subscribers who joined after send {send}, and have no copy of "
        "the edition, receive it.",
        "sendact.what.correction": "The correcting edition goes out at once to those who "
        "received the corrected one; messages of the corrected edition not sent yet are "
        "replaced by the correction, so nobody receives both.",
        "sendact.what.retry": "Messages the server deferred with a temporary error (4xx "
        "codes) are tried again at once.",
        "sendact.what.pause": "Messages stop within about 100 messages or 2 seconds. You can "
        "resume the send whenever you want.",
        "sendact.what.resume": "The send goes on from where it stopped; nobody receives the "
        "message twice.",
        "sendact.what.cancel": "Messages already sent stay sent; the others will never "
        "leave. This cannot be undone.",
        "sendact.edition": "Edition",
        "sendact.send": "Send",
        "sendact.edition_value": "no. {number}: {subject}",
        "sendact.corrected": "Corrects",
        "sendact.lists": "Lists",
        "sendact.count.reaching": "Recipients",
        "sendact.count.control": "Messages concerned",
        "sendact.override": "Calendar override",
        "sendact.yes.now": "Yes, send now",
        "sendact.yes.resend": "Yes, send now",
        "sendact.yes.late": "Yes, send now",
        "sendact.yes.correction": "Yes, send the correction",
        "sendact.yes.retry": "Yes, retry now",
        "sendact.yes.pause": "Yes, pause",
        "sendact.yes.resume": "Yes, resume",
        "sendact.yes.cancel": "Yes, cancel the send",
        "sendact.no": "No, go back",
        "sendact.changed": "Things changed meanwhile: the confirmation was for {before} and "
        "now there are {count}. Check again and confirm.",
        "sendact.changed_state": "Things changed meanwhile. Check again and confirm.",
        "sendact.already": "This edition was already sent to: {named}. To reach those who "
        "did not get it, open the send and choose “Send to those who did not get it”.",
        "sendact.already_item": "{slug} (send {send})",
        "sendact.nobody": "There is nobody to reach: everyone already received it, or the "
        "lists have no confirmed subscribers. Nothing is sent.",
        "sendact.nothing": "No message is concerned: nothing would change.",
        "sendact.refused_title": "Not possible",
        "sendact.refused.not_approved": "The edition to send is not approved in its current "
        "version: an approver must approve it before it is sent.",
        "sendact.refused.override": "Overriding a calendar block needs an admin and a "
        "justification.",
        "sendact.refused.state": "Not possible now: send {send} is “{state}”.",
        "sendact.refused.state_edition": "Not possible now: the edition's situation changed. "
        "Reload the page and try again.",
        "sendact.refused.not_found": "What you asked for no longer exists.",
        "sendact.refused.no_list": "Choose at least one list to send to.",
        "sendact.back_edition": "Back to the edition",
        "sendact.back_send": "Back to the send",
        "sendact.done.now": "Send {send} started: {count} recipients.",
        "sendact.done.resend": "Send {send} started: {count} recipients.",
        "sendact.done.late": "Send {send} to new subscribers started: {count} recipients.",
        "sendact.done.correction": "Correction started (send {send}): {count} recipients.",
        "sendact.done.retry": "Messages to retry: {count}.",
        "sendact.done.pause": "Send paused.",
        "sendact.done.resume": "Send resumed.",
        "sendact.done.cancel": "Send cancelled: {count} messages will not leave.",
        "sendpage.title": "Send {send}",
        "sendpage.heading": "Send {send}: {subject}",
        "sendpage.kind.late": "to new subscribers after send {parent}",
        "sendpage.kind.correction": "correction of send {parent}",
        "sendpage.kind.dry_run": "dry run",
        "sendpage.state": "State",
        "sendpage.lists": "Lists",
        "sendpage.progress": "Progress",
        "sendpage.percent": "{percent}% done",
        "sendpage.sent": "Sent",
        "sendpage.failed": "Not delivered",
        "sendpage.deferred": "To retry",
        "sendpage.remaining": "To send",
        "sendpage.total": "Total",
        "sendpage.rate": "Rate",
        "sendpage.rate_value": "{rate} messages per second",
        "sendpage.eta": "Estimated time left",
        "sendpage.started": "Started",
        "sendpage.finished": "Finished",
        "sendpage.reason": "Reason",
        "sendpage.reason.pause": "Paused from the desk by {actor}",
        "sendpage.reason.cancel": "Cancelled from the desk by {actor}",
        "sendpage.failures": "Failures, grouped by the server's reply",
        "sendpage.failures_none": "No failures so far.",
        "sendpage.col_count": "Messages",
        "sendpage.col_status": "Outcome",
        "sendpage.col_code": "Code",
        "sendpage.col_reply": "Server's reply",
        "sendpage.live": "The page updates itself every 2 seconds.",
        "sendpage.refresh": "Refresh the page",
        "sendpage.live_pause": "Stop automatic updates",
        "sendpage.live_resume": "Resume automatic updates",
        "sendpage.live_paused": "Automatic updates stopped.",
        "sendpage.summary": "{state}: {percent}% done, {sent} sent, {failed} not delivered, "
        "{remaining} to send.",
        "sendpage.actions": "Actions",
        "sendpage.correcting": "Correcting edition",
        "sendpage.no_corrections": "No other edition of this newsletter can correct it.",
        "sendpage.console": "Operators' console",
        "sendpage.desk_link": "Follow the send",
        "admin.console": "Console",
        "consolelive.pause": "Stop automatic updates",
        "consolelive.resume": "Resume automatic updates",
        "consolelive.paused": "Automatic updates stopped: the figures stay as shown.",
        "consolelive.refresh": "Refresh the page",
        "consolelive.desk": "Go to the desk",
        "consolelive.announce_state": "Send {send}: {state}",
        "consolelive.announce_workers": "Sending processes alive: {n}",
    },
}

add_texts(TEXTS)
