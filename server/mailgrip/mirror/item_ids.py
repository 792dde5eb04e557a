"""Item ids as Outlook and Graph spell them."""

from __future__ import annotations


def rest_item_id(item_id: str) -> str:
    """Convert an Outlook item id to the REST spelling that Graph uses; a REST id is unchanged.

    EWS ids (``Office.context.mailbox.item.itemId`` in most Outlook clients) are standard base64
    with ``/`` and ``+``. Graph and REST ids are the same bytes in URL-safe base64, with ``-`` and
    ``_``, which is what ``Office.context.mailbox.convertToRestId`` returns. Neither alphabet
    contains the other's two characters, so the conversion cannot damage a REST id.

    :param item_id: an EWS or REST item id.
    :return: the REST item id.
    """
    return item_id.replace("/", "-").replace("+", "_")
