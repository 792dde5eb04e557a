// The launch-event handlers: OnMessageAttachmentsChanged uploads while the user composes,
// OnMessageSend replaces the uploaded attachments with the secure-files block.
(function (root) {
  "use strict";
  const Mailgrip = (root.Mailgrip = root.Mailgrip || {});
  const { office, api, body, state, attachments } = Mailgrip;

  // The mirror links the sent item to its share by this custom property (mirror/linking.py).
  const SHARE_PROPERTY = "mailgripShareId";
  // Smart Alerts shows at most 500 characters of errorMessage.
  const MAX_ERROR_MESSAGE = 500;
  const PROGRESS_KEY = "mailgripUpload";
  const CLOUD_KEY = "mailgripCloud";

  const DEFAULT_MESSAGES = {
    uploading: "Uploading {name} to Mailgrip: {percent}%",
    cloudNotManaged: "Mailgrip does not manage cloud attachments; they are sent as links: {names}",
    refusedUnavailable:
      "Mailgrip could not be reached, so this message was not sent: files may leave only as a " +
      "secure link. Try again in a minute, or remove the attachments.",
    refusedSignIn:
      "Signing in to Mailgrip failed, so this message was not sent: files may leave only as a " +
      "secure link. Open Mailgrip's pane to sign in, then send again.",
    refusedRejected: "Mailgrip did not accept the attachments: {reason} Remove or change them, then send again.",
    refusedOutlook: "Outlook could not replace the attachments with a secure link ({reason}). Try sending again.",
  };

  /** Sign-in failed, so Mailgrip cannot be called: the outage policy applies. */
  class SignInFailed extends Error {}

  /** The send handler ran out of its time budget. */
  class DeadlineExceeded extends Error {}

  // NOTE: the default token comes from Office SSO (OfficeRuntime.auth). Nested app
  // authentication (MSAL) can replace it through `configure({getToken})`.
  async function officeToken() {
    return root.OfficeRuntime.auth.getAccessToken({ allowSignInPrompt: false, allowConsentPrompt: false });
  }

  const settings = {
    apiUrl: null,
    outagePolicy: "refuse",
    // NOTE: an estimate. How long Outlook lets a Smart Alerts handler run was not checked
    // against Microsoft's documentation; two minutes is meant to stay well inside it.
    sendBudgetMs: 120000,
    messages: {},
    getToken: officeToken,
    fetchImpl: null,
  };

  /** Set where Mailgrip is, the outage policy, messages, and the token and fetch functions. */
  function configure(values) {
    Object.assign(settings, values || {});
  }

  function message(name, values) {
    const template = settings.messages[name] || DEFAULT_MESSAGES[name];
    return template.replace(/\{(\w+)\}/g, (match, key) => (key in (values || {}) ? String(values[key]) : match));
  }

  async function connect() {
    let token;
    try {
      token = await settings.getToken();
    } catch (error) {
      throw new SignInFailed(`Sign-in failed: ${error.message || error.code || error}`);
    }
    return api.createClient({ apiUrl: settings.apiUrl, token, fetchImpl: settings.fetchImpl });
  }

  function progressReporter(item) {
    const shown = {};
    return (attachment, received, size) => {
      const percent = size ? Math.floor((received * 100) / size) : 100;
      // Outlook's notification bar is slow to repaint, so only every tenth percent is shown.
      if (shown[attachment.id] !== undefined && percent - shown[attachment.id] < 10 && percent < 100) {
        return;
      }
      shown[attachment.id] = percent;
      office.showProgress(item, PROGRESS_KEY, message("uploading", { name: attachment.name, percent })).catch(() => {});
    };
  }

  async function listAttachments(item) {
    const list = (await office.getAttachments(item)) || [];
    const type = await office.getBodyType(item);
    const text = await office.getBody(item, type);
    const html = type === "html" ? text : "";
    const byKind = { managed: [], inline: [], cloud: [], item: [] };
    for (const attachment of list) {
      byKind[attachments.classify(attachment, html)].push(attachment);
    }
    return { byKind, type, text };
  }

  /** Upload every managed attachment of the item not yet uploaded, and drop removed ones. */
  async function syncUploads(item, client, managed, onProgress) {
    return state.serialized(async () => {
      let current = await attachments.ensureShare(item, client, await state.load(item));
      const present = new Set(managed.map((attachment) => attachment.id));
      for (const [attachmentId, entry] of Object.entries(current.uploads)) {
        // A replaced file is in the body's block, so its upload stays after its attachment goes.
        if (!present.has(attachmentId) && !entry.replaced) {
          await attachments.forget(item, client, current, attachmentId);
        }
      }
      const entries = [];
      for (const attachment of managed) {
        entries.push(await attachments.ensureUploaded(item, client, current, attachment, onProgress));
      }
      return { share: current, entries };
    });
  }

  async function showCloudNotice(item, cloud) {
    if (!cloud.length) {
      return;
    }
    const names = cloud.map((attachment) => attachment.name).join(", ");
    await office.showInformation(item, CLOUD_KEY, message("cloudNotManaged", { names })).catch(() => {});
  }

  /** Handle OnMessageAttachmentsChanged: start uploads now, so that Send has little to do. */
  async function onMessageAttachmentsChanged(event) {
    const item = office.currentItem();
    try {
      const { byKind } = await listAttachments(item);
      await showCloudNotice(item, byKind.cloud);
      // A removal matters only to a draft share that exists; none is created for it.
      const removed = event.attachmentStatus === "removed";
      if (byKind.managed.length || (removed && (await state.load(item)).shareId)) {
        const client = await connect();
        await syncUploads(item, client, byKind.managed, progressReporter(item));
        await office.removeNotification(item, PROGRESS_KEY).catch(() => {});
      }
    } catch (error) {
      // The send handler retries what failed here and applies the outage policy.
      console.warn(`Mailgrip: uploading attachments failed: ${error.message}`);
    } finally {
      event.completed();
    }
  }

  async function finishSend(item) {
    const { byKind, type, text } = await listAttachments(item);
    const managed = byKind.managed;
    if (!managed.length) {
      return;
    }
    const client = await connect();
    const { share, entries } = await syncUploads(item, client, managed, progressReporter(item));
    // A send refused after the body was rewritten already carries the block.
    if (!text.includes(share.link)) {
      const files = entries.map((entry) => ({ name: entry.fileName, size: entry.fileSize }));
      await office.setBody(item, body.addSecureFiles(text, type, share, files, settings.messages), type);
    }
    const properties = await office.loadCustomProperties(item);
    properties.set(SHARE_PROPERTY, share.shareId);
    await office.saveCustomProperties(properties);
    // Mark the files before removing their attachments. A send refused halfway is retried with
    // some attachments gone, and their files must stay in the share that the block links to.
    for (const entry of entries) {
      entry.replaced = true;
    }
    await state.save(item, share);
    for (const attachment of managed) {
      await office.removeAttachment(item, attachment.id);
    }
  }

  function withDeadline(promise, milliseconds) {
    let timer;
    const deadline = new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new DeadlineExceeded(`no answer within ${milliseconds} ms`)), milliseconds);
    });
    return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
  }

  function refuse(event, text) {
    event.completed({ allowEvent: false, errorMessage: text.slice(0, MAX_ERROR_MESSAGE) });
  }

  function completeAfterFailure(event, error) {
    console.warn(`Mailgrip: finishing the send failed: ${error.message}`);
    if (error instanceof api.MailgripRejected) {
      refuse(event, message("refusedRejected", { reason: error.message }));
      return;
    }
    const outage =
      error instanceof api.MailgripUnavailable || error instanceof SignInFailed || error instanceof DeadlineExceeded;
    if (settings.outagePolicy === "send_untracked") {
      // The policy accepts that the files leave as plain attachments, without tracking.
      event.completed({ allowEvent: true });
      return;
    }
    const signIn = error instanceof SignInFailed || error.status === 401 || error.status === 403;
    if (signIn) {
      refuse(event, message("refusedSignIn"));
      return;
    }
    if (outage) {
      refuse(event, message("refusedUnavailable"));
      return;
    }
    refuse(event, message("refusedOutlook", { reason: error.message }));
  }

  /** Handle OnMessageSend: finish the uploads, rewrite the body, tag the item, then allow. */
  async function onMessageSend(event) {
    const item = office.currentItem();
    try {
      await withDeadline(finishSend(item), settings.sendBudgetMs);
    } catch (error) {
      completeAfterFailure(event, error);
      return;
    }
    await office.removeNotification(item, PROGRESS_KEY).catch(() => {});
    event.completed({ allowEvent: true });
  }

  Mailgrip.handlers = {
    SHARE_PROPERTY,
    SignInFailed,
    configure,
    settings,
    onMessageAttachmentsChanged,
    onMessageSend,
  };

  if (root.MAILGRIP_CONFIG) {
    configure(root.MAILGRIP_CONFIG);
  }
  if (root.Office && root.Office.actions) {
    root.Office.actions.associate("onMessageAttachmentsChanged", onMessageAttachmentsChanged);
    root.Office.actions.associate("onMessageSend", onMessageSend);
  }
})(typeof globalThis !== "undefined" ? globalThis : self);
