"""Start the emulator and Mailgrip on loopback, seed demo mail, sync, and serve until Ctrl-C."""

from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import threading
from pathlib import Path

import click
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from .. import create_app
from ..admin.microsoft_signin import callback_url
from ..config import Settings
from ..db import db
from ..devcerts import DevCertificates
from ..graph.client import GraphError
from ..http import TimeoutSession
from ..mirror.models import Mailbox
from ..mirror.subscriptions import ensure_subscription
from ..mirror.sync import sync_all
from ..services import services
from ..settings import current_settings
from ..web.closing import closing_responses
from ..worker.consumer import start_consumer
from .lock import lock_demo_folder
from .messages import DEMO_MESSAGES, SENDER, build_demo_message

log = logging.getLogger(__name__)

OUTBOX_POLL_SECONDS = 2.0
STOP_CHECK_SECONDS = 0.5
# The demo's support person, who has the admin app role: (display name, address).
DEMO_ADMIN = ("Support Desk", "support@contoso.example")
CODE_PATTERN = re.compile(r"\b(\d{6})\b")


def demo_instance_path() -> Path:
    """Return the demo's own folder, which every start empties so each run begins the same."""
    base = os.environ.get("MAILGRIP_INSTANCE_PATH") or str(Path.cwd() / "instance")
    return Path(base) / "demo"


def run_demo(
    port: int, emulator_port: int = 0, certificates: DevCertificates | None = None
) -> None:
    """Run the whole product on this machine until interrupted.

    :param certificates: serve ``https://localhost`` with these; None serves plain HTTP.
    """
    from m365_emulator.server import EmulatorServer

    ssl_context = _ssl_context(certificates) if certificates is not None else None
    public_url = f"https://localhost:{port}" if ssl_context else f"http://127.0.0.1:{port}"
    # Take the port and the folder's lock before emptying the folder, so that a demo already
    # running on this port or in this folder keeps its files.
    listener = _listen(port)
    folder = demo_instance_path()
    folder_lock = lock_demo_folder(folder, port, public_url)
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)

    emulator = EmulatorServer(state_dir=folder / "emulator", port=emulator_port)
    emulator.start()
    app = create_app(
        Settings.from_env(folder, _demo_environ(emulator, folder, public_url)),
        instance_path=str(folder),
    )
    _migrate(app)
    server = make_server(
        "127.0.0.1",
        port,
        closing_responses(app),
        threaded=True,
        fd=listener.fileno(),
        ssl_context=ssl_context,
    )
    threading.Thread(target=server.serve_forever, name="mailgrip-http", daemon=True).start()
    emulator.configure(
        mailgrip_url=public_url,
        mailgrip_ca=str(certificates.ca_cert) if certificates is not None else None,
    )
    # The task pane's sign-in dialog inside Outlook returns to this page with its code.
    emulator.register_spa_redirect_uri(f"{public_url}/taskpane/signin-dialog")
    # "Sign in with Microsoft" on the admin page returns here; Mailgrip redeems the code.
    emulator.register_web_redirect_uri(callback_url(app.extensions["mailgrip.settings"]))

    password = secrets.token_urlsafe(9)
    emulator.create_user(SENDER[1], SENDER[0], password)
    admin_password = secrets.token_urlsafe(9)
    emulator.create_user(DEMO_ADMIN[1], DEMO_ADMIN[0], admin_password)
    emulator.set_app_roles(DEMO_ADMIN[1], [app.extensions["mailgrip.settings"].admin_role])
    links = _send_demo_messages(emulator)
    _mirror_now(app)
    stop = threading.Event()
    # Handlers go in before the URLs print, because a reader may press Ctrl-C at once.
    _stop_on_signals(stop)
    # From here on, the emulator's change notifications reach the jobs of this consumer.
    consumer = start_consumer(app)
    outbox = threading.Thread(target=_print_new_codes, args=(emulator, stop), daemon=True)
    outbox.start()
    _print_urls(public_url, emulator, (password, admin_password), links)

    # The kernel may hand a signal to any of the demo's threads, and Python runs the handler
    # only when the main thread next executes bytecode: a wait without a timeout could sleep
    # through Ctrl-C for good.
    while not stop.wait(STOP_CHECK_SECONDS):
        pass
    # A second Ctrl-C while the demo shuts down ends it at once.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    click.echo("\nStopping…")
    consumer.stop(graceful=True)
    server.shutdown()
    emulator.stop()
    os.close(folder_lock)
    click.echo("Stopped.")


def _stop_on_signals(stop: threading.Event) -> None:
    """Let SIGINT (Ctrl-C) and SIGTERM set ``stop`` instead of raising where they land."""
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())


def _ssl_context(certificates: DevCertificates) -> ssl.SSLContext:
    """Load the localhost certificate and key.

    :raise click.ClickException: they are missing or unreadable.
    """
    missing = [
        path for path in (certificates.server_cert, certificates.server_key) if not path.is_file()
    ]
    if missing:
        raise click.ClickException(
            f"{missing[0]} does not exist; create the certificates with: mailgrip dev-certs "
            f"--dir {certificates.folder}"
        )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(certificates.server_cert, certificates.server_key)
    except (OSError, ssl.SSLError) as error:
        raise click.ClickException(
            f"Loading {certificates.server_cert} failed ({error}); create new certificates "
            "with: mailgrip dev-certs --force"
        ) from None
    return context


def _listen(port: int) -> socket.socket:
    """Bind and listen on 127.0.0.1:``port``.

    :raise click.ClickException: the port is taken.
    """
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind(("127.0.0.1", port))
    except OSError as error:
        listener.close()
        raise click.ClickException(
            f"Port {port} on 127.0.0.1 is not free ({error.strerror}); choose another with --port."
        ) from error
    listener.listen(128)
    return listener


def emulator_environ(emulator, storage_dir: Path, public_url: str) -> dict[str, str]:
    """Return the ``MAILGRIP_*`` variables that point a Mailgrip at a running emulator."""
    return {
        "MAILGRIP_STORAGE_DIR": str(storage_dir),
        "MAILGRIP_PUBLIC_URL": public_url,
        "MAILGRIP_AUTHORITY": emulator.base_url,
        "MAILGRIP_TENANT_ID": emulator.tenant_id,
        "MAILGRIP_CLIENT_ID": emulator.client_id,
        "MAILGRIP_CLIENT_SECRET": emulator.client_secret,
        "MAILGRIP_INSTANCE_DISCOVERY": "false",
        "MAILGRIP_GRAPH_URL": f"{emulator.base_url}/v1.0",
        "MAILGRIP_CA_BUNDLE": str(emulator.ca_path),
        "MAILGRIP_DEMO_SIGNIN": "true",
        "MAILGRIP_DEMO_CLIENT_ID": emulator.public_client_id,
        # The demo and the tests run without the internet, so Office.js comes from npm.
        "MAILGRIP_OFFICE_JS": "local",
    }


def _demo_environ(emulator, folder: Path, public_url: str) -> dict[str, str]:
    return {
        **emulator_environ(emulator, folder / "files", public_url),
        "MAILGRIP_LOG_LEVEL": os.environ.get("MAILGRIP_LOG_LEVEL", "WARNING"),
    }


def _migrate(app) -> None:
    from flask_migrate import upgrade

    Path(app.extensions["mailgrip.settings"].storage_dir).mkdir(parents=True, exist_ok=True)
    with app.app_context():
        upgrade()


def _mirror_now(app) -> None:
    """Subscribe every mailbox to change notifications and sync it, before the URLs print."""
    with app.app_context():
        graph, settings = services().graph, current_settings()
        for mailbox in db.session.scalars(sa.select(Mailbox)):
            try:
                ensure_subscription(mailbox, graph, settings)
            except GraphError as error:
                log.warning("Mailbox %s: subscription failed: %s", mailbox.id, error)
        sync_all(graph, settings)


def _send_demo_messages(emulator) -> list[tuple[str, str]]:
    """Send each demo message the way the add-in will; return (subject, portal link) pairs."""
    links = []
    for demo in DEMO_MESSAGES:
        response = requests.post(
            f"{emulator.base_url}/_emulator/mailboxes/{SENDER[1]}/send-from-outlook",
            data=build_demo_message(demo),
            headers={"Content-Type": "message/rfc822"},
            verify=str(emulator.ca_path),
            timeout=30,
        )
        if response.status_code != 201:
            raise click.ClickException(
                f"Sending the demo message {demo.subject!r} failed: "
                f"{response.status_code} {response.text[:500]}"
            )
        links.append((demo.subject, response.json()["link"]))
    return links


def _print_urls(
    public_url: str, emulator, passwords: tuple[str, str], links: list[tuple[str, str]]
) -> None:
    password, admin_password = passwords
    click.echo("")
    click.echo("Mailgrip demo is running. Open these in a browser:")
    click.echo("")
    click.echo(f"  Task pane (the sender's view):  {public_url}/taskpane")
    click.echo(f"    sign in as {SENDER[1]} with password {password}")
    click.echo("")
    click.echo(f"  Admin page (support's view):   {public_url}/admin/signin")
    click.echo(f"    sign in as {DEMO_ADMIN[1]} with password {admin_password}")
    click.echo("    (in the demo form, or through Sign in with Microsoft and the emulator's page)")
    click.echo("")
    click.echo("  Recipient portal, one link per sent message:")
    for subject, link in links:
        click.echo(f"    {subject}")
        click.echo(f"      {link}")
    click.echo("")
    click.echo("  One-time codes mailed to recipients are printed below as they are sent,")
    click.echo(f"  and listed as JSON at {emulator.base_url}/_emulator/outbox")
    click.echo(f"  (served with the emulator's local CA: curl --cacert {emulator.ca_path} …).")
    click.echo("")
    if public_url.startswith("https://"):
        click.echo("  Outlook add-in: sideload manifest.xml, or for another port the output of")
        command = f"mailgrip manifest --base-url {public_url} --client-id {emulator.client_id}"
        click.echo(f"    {command}")
        click.echo("")
    click.echo("Press Ctrl-C to stop.")


def _print_new_codes(emulator, stop: threading.Event) -> None:
    seen = 0
    session = TimeoutSession(timeout=10, verify=str(emulator.ca_path))
    while not stop.wait(OUTBOX_POLL_SECONDS):
        try:
            mails = session.get(f"{emulator.base_url}/_emulator/outbox").json()["value"]
        except (requests.RequestException, ValueError, KeyError) as error:
            log.warning("Reading the emulator outbox failed: %s", error)
            continue
        for mail in mails[seen:]:
            # The outbox also contains the demo messages themselves; only codes are of interest.
            code = CODE_PATTERN.search(mail.get("body", ""))
            if code:
                recipients = ", ".join(mail.get("to", []))
                click.echo(f"One-time code for {recipients}: {code.group(1)}")
        seen = len(mails)
