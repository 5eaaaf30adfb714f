"""Languages of human-readable messages (SERVICE.md "Languages").

Messages are built in English where they are raised; the English text is the
gettext msgid. A message with values in it is a `Message`: it reads as its
English text but remembers its msgid and values, so the response boundary can
translate it into the language `negotiate` chose for the request.
"""

from i18n.messages import N_, Message, msg, translate
from i18n.negotiation import DEFAULT_LANGUAGE, LANGUAGES, accept_language_of, negotiate

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "N_",
    "Message",
    "accept_language_of",
    "msg",
    "negotiate",
    "translate",
]
