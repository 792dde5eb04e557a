"""Routes for subscriptions: Graph's ``/v1.0/subscriptions`` and their control routes under
``/_emulator/subscriptions`` and ``/_emulator/notifications``."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Response, g, jsonify, request

from . import control, graph
from .context import control_error, current_emulator, graph_error
from .state import NotFound
from .subscriptions import (
    CHANGE_TYPES,
    Subscription,
    SubscriptionRejected,
    check_endpoint,
    parse_expiration,
    parse_resource,
    validate_endpoint,
)

log = logging.getLogger(__name__)


def _rejected(error: SubscriptionRejected) -> Response:
    return graph_error(error.status, error.code, str(error))


def _not_found(subscription_id: str) -> Response:
    return graph_error(404, "ResourceNotFound", f"The object '{subscription_id}' was not found.")


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise SubscriptionRejected(400, "BadRequest", "Send the subscription as a JSON object.")
    return body


@graph.bp.post("/subscriptions")
def create_subscription():
    """Create a subscription after validating its notification URLs, as Graph does."""
    emulator = current_emulator()
    try:
        body = _body()
        change_types = frozenset(str(body.get("changeType", "")).replace(" ", "").split(","))
        if not change_types or not change_types <= CHANGE_TYPES:
            raise SubscriptionRejected(
                400,
                "InvalidRequest",
                f"changeType '{body.get('changeType')}' is invalid; use created, updated, "
                "deleted or a comma-separated list of them.",
            )
        resource = parse_resource(str(body.get("resource", "")))
        notification_url = check_endpoint(body.get("notificationUrl"), "notificationUrl")
        lifecycle_url = body.get("lifecycleNotificationUrl")
        if lifecycle_url is not None:
            lifecycle_url = check_endpoint(lifecycle_url, "lifecycleNotificationUrl")
        expiration = parse_expiration(body.get("expirationDateTime"))
        client_state = body.get("clientState")
        if client_state is not None and (
            not isinstance(client_state, str) or len(client_state) > 128
        ):
            raise SubscriptionRejected(
                400, "InvalidRequest", "clientState must be a string of at most 128 characters."
            )
        user = graph._mailbox_user(resource.user_key, graph.READ_PERMISSIONS)
        folder = None
        if resource.folder_key is not None:
            try:
                folder = emulator.state.resolve_folder(user.id, resource.folder_key)
            except NotFound:
                return graph_error(
                    404, "ErrorItemNotFound", "The specified object was not found in the store."
                )
        validate_endpoint(notification_url, emulator.config.mailgrip_verify)
        if lifecycle_url:
            validate_endpoint(lifecycle_url, emulator.config.mailgrip_verify)
    except SubscriptionRejected as error:
        return _rejected(error)
    subscription = Subscription(
        id=str(uuid.uuid4()),
        resource=str(body["resource"]),
        user_id=user.id,
        folder=folder,
        change_types=change_types,
        notification_url=notification_url,
        lifecycle_url=lifecycle_url,
        client_state=client_state,
        expiration=expiration,
        application_id=str(g.claims.get("appid") or g.claims.get("azp") or ""),
        tenant_id=emulator.config.tenant_id,
    )
    emulator.subscriptions.add(subscription)
    log.info("Subscription %s created on %s", subscription.id, subscription.resource)
    return jsonify(subscription.to_json(emulator.config.graph_base)), 201


@graph.bp.get("/subscriptions")
def list_subscriptions():
    emulator = current_emulator()
    base = emulator.config.graph_base
    active = [item for item in emulator.subscriptions.all() if not item.expired]
    return jsonify(
        {
            "@odata.context": f"{base}/$metadata#subscriptions",
            "value": [item.to_json(base) for item in active],
        }
    )


@graph.bp.get("/subscriptions/<subscription_id>")
def get_subscription(subscription_id: str):
    emulator = current_emulator()
    found = emulator.subscriptions.find(subscription_id)
    if found is None:
        return _not_found(subscription_id)
    return jsonify(found.to_json(emulator.config.graph_base))


@graph.bp.patch("/subscriptions/<subscription_id>")
def renew_subscription(subscription_id: str):
    """Change the expiry (and notification URL, validated again) of a live subscription."""
    emulator = current_emulator()
    found = emulator.subscriptions.find(subscription_id)
    if found is None:
        return _not_found(subscription_id)
    try:
        body = _body()
        expiration = found.expiration
        if "expirationDateTime" in body:
            expiration = parse_expiration(body["expirationDateTime"])
        notification_url = found.notification_url
        if "notificationUrl" in body:
            notification_url = check_endpoint(body["notificationUrl"], "notificationUrl")
            validate_endpoint(notification_url, emulator.config.mailgrip_verify)
    except SubscriptionRejected as error:
        return _rejected(error)
    found.expiration = expiration
    found.notification_url = notification_url
    return jsonify(found.to_json(emulator.config.graph_base))


@graph.bp.delete("/subscriptions/<subscription_id>")
def delete_subscription(subscription_id: str):
    emulator = current_emulator()
    if emulator.subscriptions.find(subscription_id) is None:
        return _not_found(subscription_id)
    emulator.subscriptions.remove(subscription_id)
    return Response(status=204)


# Control


def _subscription_or_404(subscription_id: str) -> Subscription | Response:
    found = current_emulator().subscriptions.find(subscription_id, include_expired=True)
    if found is None:
        return control_error(404, "not_found", f"No subscription has the id {subscription_id!r}.")
    return found


@control.bp.get("/subscriptions")
def control_list_subscriptions():
    """List every subscription, expired ones included, with ``expired`` set."""
    emulator = current_emulator()
    base = emulator.config.graph_base
    return jsonify(
        {
            "value": [
                {**item.to_json(base), "expired": item.expired}
                for item in emulator.subscriptions.all()
            ]
        }
    )


@control.bp.post("/subscriptions/<subscription_id>/expire")
def control_expire(subscription_id: str):
    """Make a subscription expire now: no more notifications, and Graph returns 404 for it."""
    found = _subscription_or_404(subscription_id)
    if isinstance(found, Response):
        return found
    current_emulator().subscriptions.expire(subscription_id)
    return jsonify({"id": subscription_id, "expired": True})


@control.bp.post("/subscriptions/<subscription_id>/lifecycle")
def control_lifecycle(subscription_id: str):
    """Send a lifecycle notification: ``{"event": "reauthorizationRequired"}``, and so on."""
    found = _subscription_or_404(subscription_id)
    if isinstance(found, Response):
        return found
    body = request.get_json(silent=True) or {}
    try:
        current_emulator().subscriptions.lifecycle(found, str(body.get("event", "")))
    except SubscriptionRejected as error:
        return control_error(error.status, "invalid_event", str(error))
    return jsonify({"id": subscription_id, "event": body.get("event")}), 202


@control.bp.get("/notifications")
def control_deliveries():
    """List delivered and dropped notifications with ``postedAt`` (Unix time) and status."""
    return jsonify({"value": current_emulator().subscriptions.deliveries()})


@control.bp.post("/notifications/drop")
def control_drop():
    """Lose the next ``count`` change notifications: ``{"count": 2}``."""
    body = request.get_json(silent=True) or {}
    count = body.get("count", 1)
    if not isinstance(count, int) or count < 1:
        return control_error(400, "invalid_request", f"count {count!r} is invalid; use 1 or more.")
    current_emulator().subscriptions.drop_next(count)
    return jsonify({"dropping": count})


@control.bp.get("/requests")
def control_requests():
    """List recent Graph requests (method, path, Prefer) and the most in flight per mailbox."""
    log_ = current_emulator().requests
    return jsonify({"value": log_.entries(), "maxInFlight": log_.max_in_flight()})


@control.bp.delete("/requests")
def control_clear_requests():
    current_emulator().requests.clear()
    return Response(status=204)
