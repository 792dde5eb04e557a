"""The table of every ``MAILGRIP_*`` setting: its type, default and meaning.

``docs/configuration.md`` is generated from this table by ``mailgrip config-docs``.
"""

from __future__ import annotations

from .parsing import (
    Setting,
    parse_bool,
    parse_code_delivery,
    parse_distribution_list_policy,
    parse_float,
    parse_int,
    parse_proxy_fix,
    parse_rate_limit,
    parse_smtp_security,
    parse_str,
)

SETTINGS: tuple[Setting, ...] = (
    Setting(
        "env",
        parse_str,
        "development",
        "`development` or `production`. Production refuses to start without its secrets.",
    ),
    Setting(
        "secret_key",
        parse_str,
        None,
        "Key that signs portal sessions and CSRF tokens. Development keeps a random one in "
        "`instance/secret_key`; production requires it.",
        secret=True,
    ),
    Setting(
        "database_url",
        parse_str,
        None,
        "SQLAlchemy URL. Default: SQLite file `instance/mailgrip.sqlite3`. It may contain the "
        "database password.",
        secret=True,
    ),
    Setting(
        "storage_dir",
        parse_str,
        None,
        "Folder for uploaded file bytes. Default: `instance/files`.",
    ),
    Setting(
        "max_upload_bytes",
        parse_int,
        100 * 1024 * 1024,
        "Largest upload request accepted by `POST /api/shares`, in bytes; larger ones get 413.",
    ),
    Setting(
        "max_files_per_share",
        parse_int,
        250,
        "Maximum number of uploads, complete or not, in one draft share; more get 409. The "
        "default, 250, is Exchange Online's limit of file attachments per message.",
    ),
    Setting(
        "max_share_bytes",
        parse_int,
        500 * 1024 * 1024,
        "Largest total size of the uploads in one draft share, complete or not, in bytes; an "
        "upload or chunk that would pass it gets 413 before its bytes are stored. The default "
        "is five times the default of `MAILGRIP_MAX_UPLOAD_BYTES`.",
    ),
    Setting(
        "draft_retention_days",
        parse_float,
        3.0,
        "Days after which a draft share that no sent message carries, with its stored files "
        "and unfinished uploads, is deleted. A draft with uploads counts from its newest upload.",
    ),
    Setting(
        "public_url",
        parse_str,
        "http://127.0.0.1:5000",
        "Base URL that recipients reach; share links and the tracking image are built on it.",
    ),
    Setting(
        "authority",
        parse_str,
        "https://login.microsoftonline.com",
        "Identity platform host. The emulator's URL in the demo and tests.",
    ),
    Setting(
        "tenant_id",
        parse_str,
        "",
        "Directory (tenant) id of the organisation whose mail is mirrored.",
    ),
    Setting("client_id", parse_str, "", "Application (client) id of Mailgrip's app registration."),
    Setting(
        "client_secret",
        parse_str,
        "",
        "Client secret of the app registration, for Graph tokens. Leave it empty when the app "
        "authenticates with a certificate.",
        secret=True,
    ),
    Setting(
        "client_certificate_key",
        parse_str,
        "",
        "PEM private key of the certificate that the app registration authenticates with, "
        "instead of the client secret.",
        secret=True,
    ),
    Setting(
        "client_certificate",
        parse_str,
        "",
        "PEM certificate that belongs to `MAILGRIP_CLIENT_CERTIFICATE_KEY`; its SHA-1 thumbprint "
        "names the key to the identity platform.",
        file_allowed=True,
    ),
    Setting(
        "client_certificate_thumbprint",
        parse_str,
        "",
        "SHA-1 thumbprint (hex) of the certificate, as the app registration lists it. Default: "
        "computed from `MAILGRIP_CLIENT_CERTIFICATE`.",
    ),
    Setting(
        "allowed_tenants",
        parse_str,
        "",
        "Comma-separated tenant ids whose users may call the API. Default: only "
        "`MAILGRIP_TENANT_ID`.",
    ),
    Setting(
        "api_audience",
        parse_str,
        "",
        "Audience that API bearer tokens must carry. Default: the client id.",
    ),
    Setting(
        "api_app_id_uri",
        parse_str,
        "",
        "Application ID URI of the API, also accepted as the audience. Default: "
        "`api://<MAILGRIP_API_AUDIENCE>`.",
    ),
    Setting(
        "api_scope",
        parse_str,
        "access_as_user",
        "Delegated scope (`scp`) that API bearer tokens must contain.",
    ),
    Setting(
        "instance_discovery",
        parse_bool,
        True,
        "Let msal validate the authority host with Microsoft. Off for the emulator.",
    ),
    Setting(
        "graph_url",
        parse_str,
        "https://graph.microsoft.com/v1.0",
        "Microsoft Graph base URL including the version.",
    ),
    Setting(
        "graph_scope",
        parse_str,
        "https://graph.microsoft.com/.default",
        "Scope requested for app-only Graph tokens.",
    ),
    Setting(
        "graph_delegated_scopes",
        parse_str,
        "https://graph.microsoft.com/Mail.Read.Shared",
        "Space-separated Graph scopes requested on behalf of a user; Mail.Read.Shared lets "
        "Mailgrip ask Graph which shared mailboxes the user may open.",
    ),
    Setting(
        "ca_bundle",
        parse_str,
        "",
        "PEM file of extra trusted CAs for outgoing HTTPS (the emulator's CA in the demo).",
    ),
    Setting("http_timeout", parse_float, 10.0, "Timeout of every outgoing HTTP call, in seconds."),
    Setting(
        "redis_url",
        parse_str,
        "",
        "Redis URL of the job queue and the rate limits, such as `redis://127.0.0.1:6379/0`. "
        "Default: a SQLite queue in `instance/jobs.sqlite3`, which only processes on this "
        "machine can share, and rate limits in each process's memory.",
        secret=True,
    ),
    Setting(
        "queue_name",
        parse_str,
        "mailgrip",
        "Name of the job queue; web and worker processes of one deployment must use the same.",
    ),
    Setting(
        "worker_threads",
        parse_int,
        4,
        "Threads of the job consumer (`mailgrip worker`, and inside `mailgrip demo`).",
    ),
    Setting(
        "subscription_lifetime_minutes",
        parse_int,
        4230,
        "Lifetime requested for each change-notification subscription, in minutes; at most "
        "the maximum that Graph allows for Outlook messages (4230 minutes when documented).",
    ),
    Setting(
        "delta_fallback_minutes",
        parse_float,
        15.0,
        "Minutes without a change notification or sync after which a mailbox is polled by "
        "delta sync. Mailboxes without a working subscription are polled every minute.",
    ),
    Setting(
        "trace_budget_requests",
        parse_int,
        100,
        "Message trace requests that all Mailgrip processes together send per tenant in each "
        "window of `MAILGRIP_TRACE_BUDGET_WINDOW_SECONDS`; Microsoft allows 100 per 5 minutes.",
    ),
    Setting(
        "trace_budget_window_seconds",
        parse_float,
        300.0,
        "Length of the message trace budget's window, in seconds.",
    ),
    Setting(
        "trace_backoff_seconds",
        parse_float,
        60.0,
        "Seconds before message trace is asked again about a message whose recipients are "
        "not all final; the delay doubles with each attempt.",
    ),
    Setting(
        "trace_backoff_max_seconds",
        parse_float,
        1800.0,
        "Longest delay between two message trace requests about one message, in seconds.",
    ),
    Setting(
        "trace_max_age_hours",
        parse_float,
        72.0,
        "Hours after sending that delivery is still traced and delivery reports are still "
        "matched; later, a recipient keeps the state it has.",
    ),
    Setting(
        "share_lifetime_days",
        parse_int,
        30,
        "Days after creation that a share's link stops working.",
    ),
    Setting(
        "code_lifetime_minutes", parse_int, 10, "Minutes a one-time verification code stays valid."
    ),
    Setting(
        "addin_id",
        parse_str,
        "8b4fd0f6-0c0b-4b36-9a55-1f2b3c4d5e6f",
        "Id of the Outlook add-in in its manifest; it names the custom-property container.",
    ),
    Setting(
        "send_mode",
        parse_str,
        "SoftBlock",
        "SendMode of the add-in's OnMessageSend event in a rendered manifest: `PromptUser` (the "
        "user may send anyway), `SoftBlock` (sends when the add-in cannot load) or `Block`.",
    ),
    Setting(
        "outage_policy",
        parse_str,
        "refuse",
        "What the add-in does at send when Mailgrip cannot be reached or sign-in fails: "
        "`refuse` (the send is blocked, so files never go out as attachments) or "
        "`send_untracked` (the message goes out with its attachments and no tracking).",
    ),
    Setting(
        "admin_role",
        parse_str,
        "Mailgrip.Admin",
        "App role (`roles` claim) that gives access to the admin page under `/admin/`.",
    ),
    Setting(
        "mailbox_access_cache_seconds",
        parse_float,
        300.0,
        "Seconds that Graph's answer on whether a user may open a shared mailbox is reused.",
    ),
    Setting(
        "demo_signin",
        parse_bool,
        False,
        "Offer a username and password sign-in in the task pane for a plain browser (demo only).",
    ),
    Setting(
        "demo_client_id",
        parse_str,
        "",
        "Public client id used by the demo sign-in. Default: the client id.",
    ),
    Setting(
        "taskpane_dir",
        parse_str,
        "",
        "Folder with the task pane's `templates/` and `static/`, read when the process starts. "
        "Default: `taskpane/` of the source tree.",
    ),
    Setting(
        "addin_dir",
        parse_str,
        "",
        "Folder with the add-in's `commands.html`, `src/` and `assets/`, read from the "
        "environment when the process starts. Default: `addin/` of the source tree.",
    ),
    Setting(
        "office_js",
        parse_str,
        "cdn",
        "Where the task pane loads Office.js from: `cdn` (Microsoft's CDN, which Microsoft "
        "requires of add-ins in AppSource) or `local` (the `@microsoft/office-js` npm package "
        "served by Mailgrip, for offline use and tests).",
    ),
    Setting("log_level", parse_str, "INFO", "Root log level."),
    Setting(
        "rate_limit_key_prefix",
        parse_str,
        "mailgrip:limits",
        "Prefix of the rate-limit keys in Redis, so that deployments can share one Redis.",
    ),
    Setting(
        "rate_limit_code_requests",
        parse_rate_limit,
        "5 per minute; 20 per hour",
        "One-time code requests accepted from one client IP address, in Flask-Limiter's "
        "notation. Every `rate_limit` setting takes one or more limits separated by `;`.",
    ),
    Setting(
        "rate_limit_code_requests_per_address",
        parse_rate_limit,
        "10 per hour",
        "One-time code requests accepted for one email address, across all shares; only "
        "requests on a valid link for an address that its share was sent to count.",
    ),
    Setting(
        "rate_limit_code_entries",
        parse_rate_limit,
        "10 per minute; 60 per hour",
        "Code entries accepted from one client IP address.",
    ),
    Setting(
        "rate_limit_code_entries_per_address",
        parse_rate_limit,
        "30 per hour",
        "Code entries accepted for one email address, across all shares; only entries on a "
        "valid link for an address that its share was sent to count.",
    ),
    Setting(
        "rate_limit_portal",
        parse_rate_limit,
        "60 per minute; 600 per hour",
        "Portal pages and downloads served to one client IP address.",
    ),
    Setting(
        "rate_limit_tracking_image",
        parse_rate_limit,
        "120 per minute",
        "Open-tracking image fetches served to one client IP address.",
    ),
    Setting(
        "distribution_list_policy",
        parse_distribution_list_policy,
        "refuse",
        "Who may verify for a recipient that is a distribution list (delivery state "
        "`expanded`): `refuse` (nobody) or `domain` (any address in the list's domain). Under "
        "`refuse`, a recipient without a final delivery state is looked up in Graph's groups "
        "(permission `GroupMember.Read.All`) before a code is mailed.",
    ),
    Setting(
        "code_mailbox",
        parse_str,
        "",
        "Mailbox (user id or address) that sends one-time codes through Graph `sendMail`. "
        "Default: the mailbox of the share's owner.",
    ),
    Setting(
        "code_delivery",
        parse_code_delivery,
        "graph",
        "How one-time codes are mailed: `graph` (`sendMail`) or `smtp`.",
    ),
    Setting("smtp_host", parse_str, "", "SMTP server for one-time codes when delivery is `smtp`."),
    Setting("smtp_port", parse_int, 587, "Port of the SMTP server."),
    Setting(
        "smtp_security",
        parse_smtp_security,
        "starttls",
        "`starttls` (upgrade with STARTTLS, required), `tls` (TLS from the first byte, "
        "usually port 465) or `none` (plain text, for a relay on the same host only).",
    ),
    Setting("smtp_username", parse_str, "", "SMTP user name; no authentication when empty."),
    Setting(
        "smtp_password",
        parse_str,
        "",
        "SMTP password. `MAILGRIP_SMTP_PASSWORD_FILE` may name a file that holds it instead.",
        secret=True,
    ),
    Setting("smtp_from", parse_str, "", "From address of code mails sent over SMTP."),
    Setting("smtp_timeout", parse_float, 10.0, "Timeout of each SMTP operation, in seconds."),
    Setting(
        "proxy_fix",
        parse_proxy_fix,
        "",
        "Reverse proxies whose `X-Forwarded-*` headers are trusted: a count (`1` trusts "
        "`X-Forwarded-For` and `X-Forwarded-Proto` of one proxy) or a list such as "
        "`x_for=1,x_proto=1,x_host=1`. Empty: the headers are ignored.",
    ),
)
