"""The visitor texts rasa-handoff ships for languages other than English (English: `Texts`)."""

from __future__ import annotations

# Every key of `Texts`, with the same placeholders; a unit test checks both.
BUILTIN_TEXTS: dict[str, dict[str, str]] = {
    "de": {
        "escalation_prompt": (
            "Ich bin nicht sicher, ob ich das richtig verstanden habe. Möchtest du mit einer "
            "Person aus unserem Team sprechen?"
        ),
        "offer_accept_button": "Ja, bitte eine Person",
        "offer_decline_button": "Nein, danke",
        "offer_declined": "Alles klar, machen wir weiter. Wobei kann ich dir sonst helfen?",
        "email_prompt": (
            "Gern, ich hole jemanden aus unserem Team dazu. Unter welcher E-Mail-Adresse "
            "können wir dich erreichen?"
        ),
        "email_placeholder": "du@beispiel.de",
        "invalid_email": (
            "„{value}“ sieht nicht wie eine E-Mail-Adresse aus. Bitte prüfe sie und schick sie "
            "noch einmal, oder schreib „abbrechen“, um weiter mit mir zu chatten."
        ),
        "confirmation": (
            "Danke! Ich habe deine Anfrage an unser Team weitergegeben. Jemand antwortet dir "
            "hier oder an {email} {response_time}."
        ),
        "already_escalated": (
            "Unser Team hat deine Anfrage bereits und antwortet dir hier oder an {email} "
            "{response_time}."
        ),
        "expected_response_time": "innerhalb eines Werktags",
        "cancelled": (
            "Kein Problem, ich gebe nichts an das Team weiter. Wobei kann ich dir sonst helfen?"
        ),
        "unavailable": (
            "Leider ist gerade niemand aus dem Team erreichbar. Ich helfe dir aber gern weiter."
        ),
        "live_chat_started": "{agent_name} aus unserem Team ist dem Chat beigetreten.",
        "live_chat_ended": (
            "{agent_name} hat den Chat verlassen. Du schreibst jetzt wieder mit {chatbot_name}."
        ),
        "offline_confirmation": (
            "Danke! Unser Team ist gerade nicht da und {reopens_at} wieder erreichbar. Es meldet "
            "sich bei dir unter {email}. Bis dahin hilft dir {chatbot_name} gern weiter."
        ),
        "reopens_at": "am {day} um {time} Uhr (Zeitzone {city})",
        "weekdays": "Montag, Dienstag, Mittwoch, Donnerstag, Freitag, Samstag, Sonntag",
        "no_agent_confirmation": (
            "Danke! Ich habe deine Anfrage an unser Team weitergegeben. Gerade ist niemand "
            "online, deshalb meldet sich das Team {response_time} unter {email}. Bis dahin hilft "
            "dir {chatbot_name} gern weiter."
        ),
        "queue_position": "Du bist Nummer {position} in der Warteschlange.",
        "expected_wait": "Die Wartezeit beträgt etwa {minutes} Minuten.",
        "expected_wait_one": "Die Wartezeit beträgt etwa eine Minute.",
        "unanswered": (
            "Entschuldige die Wartezeit! Bisher konnte niemand antworten, deshalb meldet sich "
            "unser Team unter {email}. Bis dahin hilft dir {chatbot_name} gern weiter."
        ),
        "idle_closed": (
            "Dieser Chat wurde beendet, weil eine Weile nichts geschrieben wurde. Du schreibst "
            "jetzt wieder mit {chatbot_name}; frag jederzeit wieder nach einer Person."
        ),
    },
    "fr": {
        "escalation_prompt": (
            "Je ne suis pas sûr d'avoir bien compris. Voulez-vous parler à une personne de "
            "notre équipe ?"
        ),
        "offer_accept_button": "Oui, une personne svp",
        "offer_decline_button": "Non, merci",
        "offer_declined": "D'accord, continuons. Que puis-je faire d'autre pour vous ?",
        "email_prompt": (
            "Bien sûr, je fais appel à une personne de notre équipe. À quelle adresse e-mail "
            "peut-elle vous joindre ?"
        ),
        "email_placeholder": "vous@exemple.fr",
        "invalid_email": (
            "« {value} » ne ressemble pas à une adresse e-mail. Vérifiez-la et renvoyez-la, "
            "ou écrivez « annuler » pour continuer à discuter avec moi."
        ),
        "confirmation": (
            "Merci ! J'ai transmis votre demande à notre équipe. Quelqu'un vous répondra ici "
            "ou à {email} {response_time}."
        ),
        "already_escalated": (
            "Notre équipe a déjà votre demande et vous répondra ici ou à {email} {response_time}."
        ),
        "expected_response_time": "sous un jour ouvré",
        "cancelled": (
            "Pas de problème, je ne contacte pas l'équipe. Que puis-je faire d'autre pour vous ?"
        ),
        "unavailable": (
            "Désolé, il n'est pas possible de parler à une personne pour le moment. "
            "Je reste à votre disposition."
        ),
        "live_chat_started": "{agent_name} de notre équipe a rejoint la conversation.",
        "live_chat_ended": (
            "{agent_name} a quitté la conversation. Vous êtes de nouveau avec {chatbot_name}."
        ),
        "offline_confirmation": (
            "Merci ! Notre équipe est absente pour le moment et sera de retour {reopens_at}. "
            "Elle vous répondra à {email}. En attendant, {chatbot_name} reste à votre disposition."
        ),
        "reopens_at": "le {day} à {time} (heure de {city})",
        "weekdays": "lundi, mardi, mercredi, jeudi, vendredi, samedi, dimanche",
        "no_agent_confirmation": (
            "Merci ! J'ai transmis votre demande à notre équipe. Personne n'est en ligne pour le "
            "moment : l'équipe vous répondra à {email} {response_time}. En attendant, "
            "{chatbot_name} reste à votre disposition."
        ),
        "queue_position": "Vous êtes numéro {position} dans la file d'attente.",
        "expected_wait": "L'attente estimée est d'environ {minutes} minutes.",
        "expected_wait_one": "L'attente estimée est d'environ une minute.",
        "unanswered": (
            "Désolé pour l'attente ! Personne n'a encore pu vous répondre : notre équipe vous "
            "écrira à {email}. En attendant, {chatbot_name} reste à votre disposition."
        ),
        "idle_closed": (
            "Cette conversation a été fermée faute de messages depuis un moment. Vous êtes de "
            "nouveau avec {chatbot_name} ; redemandez une personne quand vous voulez."
        ),
    },
    "es": {
        "escalation_prompt": (
            "No estoy seguro de haberte entendido. ¿Quieres hablar con una persona de nuestro "
            "equipo?"
        ),
        "offer_accept_button": "Sí, una persona por favor",
        "offer_decline_button": "No, gracias",
        "offer_declined": "De acuerdo, sigamos. ¿En qué más puedo ayudarte?",
        "email_prompt": (
            "Claro, aviso a una persona de nuestro equipo. ¿En qué correo electrónico te "
            "pueden contactar?"
        ),
        "email_placeholder": "tu@ejemplo.es",
        "invalid_email": (
            "«{value}» no parece una dirección de correo. Revísala y envíala de nuevo, "
            "o escribe «cancelar» para seguir hablando conmigo."
        ),
        "confirmation": (
            "¡Gracias! He pasado tu solicitud a nuestro equipo. Alguien te responderá aquí "
            "o en {email} {response_time}."
        ),
        "already_escalated": (
            "Nuestro equipo ya tiene tu solicitud y te responderá aquí o en {email} "
            "{response_time}."
        ),
        "expected_response_time": "en un día laborable",
        "cancelled": "Sin problema, no avisaré al equipo. ¿En qué más puedo ayudarte?",
        "unavailable": (
            "Lo siento, ahora mismo no es posible hablar con una persona. "
            "Pero sigo aquí para ayudarte."
        ),
        "live_chat_started": "{agent_name} de nuestro equipo se ha unido al chat.",
        "live_chat_ended": (
            "{agent_name} ha salido del chat. Vuelves a hablar con {chatbot_name}."
        ),
        "offline_confirmation": (
            "¡Gracias! Nuestro equipo no está disponible ahora y vuelve {reopens_at}. Te "
            "escribirá a {email}. Mientras tanto, {chatbot_name} sigue aquí para ayudarte."
        ),
        "reopens_at": "el {day} a las {time} (hora de {city})",
        "weekdays": "lunes, martes, miércoles, jueves, viernes, sábado, domingo",
        "no_agent_confirmation": (
            "¡Gracias! He pasado tu solicitud a nuestro equipo. Ahora mismo no hay nadie "
            "conectado, así que te escribirán a {email} {response_time}. Mientras tanto, "
            "{chatbot_name} sigue aquí para ayudarte."
        ),
        "queue_position": "Eres el número {position} en la cola.",
        "expected_wait": "La espera estimada es de unos {minutes} minutos.",
        "expected_wait_one": "La espera estimada es de un minuto aproximadamente.",
        "unanswered": (
            "¡Perdona la espera! Nadie ha podido responder todavía, así que nuestro equipo te "
            "escribirá a {email}. Mientras tanto, {chatbot_name} sigue aquí para ayudarte."
        ),
        "idle_closed": (
            "Este chat se cerró porque llevaba un rato sin mensajes. Vuelves a hablar con "
            "{chatbot_name}; pide una persona cuando quieras."
        ),
    },
}

# The satisfaction question after End Live Chat (CSAT): the question, its five answers (worst
# first, comma-separated), the thanks for a rating and for a comment.
_CSAT: dict[str, dict[str, str]] = {
    "de": {
        "csat_question": "Wie war's? Bitte bewerte diesen Chat.",
        "csat_ratings": "Sehr schlecht, Schlecht, Okay, Gut, Sehr gut",
        "csat_thanks": (
            "Danke für deine Bewertung! Wenn du uns noch mehr sagen möchtest, schreib es einfach "
            "in deine nächste Nachricht."
        ),
        "csat_comment_thanks": "Danke, wir haben deinen Kommentar an das Team weitergegeben.",
    },
    "fr": {
        "csat_question": "Comment ça s'est passé ? Merci de noter cette conversation.",
        "csat_ratings": "Très mauvais, Mauvais, Correct, Bien, Excellent",
        "csat_thanks": (
            "Merci pour votre note ! Si vous souhaitez nous en dire plus, écrivez-le simplement "
            "dans votre prochain message."
        ),
        "csat_comment_thanks": "Merci, nous avons transmis votre commentaire à l'équipe.",
    },
    "es": {
        "csat_question": "¿Qué tal lo hicimos? Valora este chat, por favor.",
        "csat_ratings": "Muy mal, Mal, Regular, Bien, Excelente",
        "csat_thanks": (
            "¡Gracias por tu valoración! Si quieres contarnos algo más, escríbelo en tu próximo "
            "mensaje."
        ),
        "csat_comment_thanks": "Gracias, hemos pasado tu comentario al equipo.",
    },
}
for _language, _texts in _CSAT.items():
    BUILTIN_TEXTS[_language].update(_texts)

# The transcript emailed to the visitor after End Live Chat (livechat.transcript_email).
_TRANSCRIPT: dict[str, dict[str, str]] = {
    "de": {
        "transcript_subject": "Dein Chat mit {chatbot_name}",
        "transcript_heading": "Hier ist eine Kopie deines Chats mit {chatbot_name} vom {date}.",
        "transcript_times": "Alle Uhrzeiten in {timezone}.",
        "transcript_you": "Du",
    },
    "fr": {
        "transcript_subject": "Votre conversation avec {chatbot_name}",
        "transcript_heading": (
            "Voici une copie de votre conversation avec {chatbot_name} du {date}."
        ),
        "transcript_times": "Les heures sont indiquées en {timezone}.",
        "transcript_you": "Vous",
    },
    "es": {
        "transcript_subject": "Tu chat con {chatbot_name}",
        "transcript_heading": "Aquí tienes una copia de tu chat con {chatbot_name} del {date}.",
        "transcript_times": "Las horas se muestran en {timezone}.",
        "transcript_you": "Tú",
    },
}
for _language, _texts in _TRANSCRIPT.items():
    BUILTIN_TEXTS[_language].update(_texts)
