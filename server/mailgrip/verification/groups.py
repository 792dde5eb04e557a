"""Asking Microsoft Graph whether an address is a group of the sender's tenant.

Message trace reports a distribution list as ``Expanded`` only once it has delivered, minutes
after the send in a real tenant, and never without ``ExchangeMessageTrace.Read.All``. Until
then a list looks like a person, and a code mailed to it reaches every member. Graph's List
groups returns the tenant's distribution lists, mail-enabled security groups and Microsoft 365
groups alike, so under the ``refuse`` policy Mailgrip queries it before mailing a code.
"""

from __future__ import annotations

import logging

import requests

from ..errors import MailgripError
from ..services import services

log = logging.getLogger(__name__)


class GroupLookupFailed(MailgripError):
    """Graph did not tell whether an address is a group: unreachable, throttled or forbidden."""

    status = 503
    code = "group_lookup_failed"


def is_tenant_group(address: str) -> bool:
    """Tell whether ``address`` is the address of a group of the tenant.

    The filter on ``proxyAddresses`` matches a group's primary and secondary addresses. Graph
    supports ``eq`` on that property through ``any``. Dynamic distribution groups are not in
    Graph, so they stay unknown until message trace reports them as ``Expanded``.

    :raise GroupLookupFailed: the request failed or the response was not a collection.
    """
    # NOTE: Graph's documentation lists eq on proxyAddresses, but not whether it ignores case.
    # The lowercase "smtp:" is expected to match a primary "SMTP:" address as well.
    literal = address.replace("'", "''")
    params = {
        "$filter": f"proxyAddresses/any(p:p eq 'smtp:{literal}')",
        "$select": "id",
        "$top": "1",
    }
    try:
        # One attempt: a portal request must not sleep through Graph's Retry-After.
        page = services().graph.get_json("groups", params=params, max_attempts=1)
    except (MailgripError, requests.RequestException, ValueError) as error:
        raise GroupLookupFailed(f"Graph List groups failed: {error}") from error
    groups = page.get("value") if isinstance(page, dict) else None
    if not isinstance(groups, list):
        raise GroupLookupFailed("Graph List groups returned no 'value' collection.")
    return bool(groups)
