// Mailgrip task pane: shows a sent message's tracking and switches its blocks.
// Every string the user sees comes from the page's JSON configuration, translated on the
// server. Data from the API reaches the page only through text nodes and textContent.
"use strict";

(() => {
  const config = JSON.parse(document.getElementById("taskpane-config").textContent);
  const S = config.strings;
  const TOKEN_KEY = "mailgrip.taskpane.token";
  // A token this close to its expiry is treated as expired, so a request never races it.
  const EXPIRY_MARGIN_MS = 30_000;
  const DEFAULT_REFRESH_SECONDS = 10;
  const MIN_REFRESH_SECONDS = 2;

  const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
  const clockFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const numberFormat = new Intl.NumberFormat(config.locale);
  const pluralRules = new Intl.PluralRules(config.locale);

  const state = {
    messageId: null, // Mailgrip's id, known after the first successful load
    lastPayload: null, // the last tracking JSON as text, to tell a change from a repeat
    timer: null,
    stale: false, // a refresh came due while the page was hidden
    loading: null, // the load in progress, so that two never overlap
    pendingToggles: 0,
    focusId: null, // the control to focus again after the view is rebuilt
    outlook: false, // the pane runs inside Outlook (outlook.js), where sign-in is signin.js's
  };

  const byId = (id) => document.getElementById(id);

  // Fluent's switch and checkbox report their state to assistive technology through
  // ElementInternals. The aria-checked attribute repeats it for tools that read only attributes,
  // so every change of `checked` goes through here or through the change listener below.
  const CHECKABLE = "fluent-switch, fluent-checkbox";

  function setChecked(control, checked) {
    control.checked = checked;
    control.setAttribute("aria-checked", String(Boolean(checked)));
  }

  // Capture runs before the listeners that act on the change, so they see the attribute updated.
  document.addEventListener("change", (event) => {
    const control = event.target;
    if (control instanceof Element && control.matches(CHECKABLE)) {
      control.setAttribute("aria-checked", String(Boolean(control.checked)));
    }
  }, true);

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  class SignInRequired extends Error {}

  // ---- text helpers ----

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, (placeholder, name) =>
      Object.hasOwn(values, name) ? String(values[name]) : placeholder);
  }

  function formatTime(iso) {
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? String(iso) : dateTimeFormat.format(date);
  }

  function formatCount(oneKey, otherKey, count) {
    const template = pluralRules.select(count) === "one" ? S[oneKey] : S[otherKey];
    return format(template, { count: numberFormat.format(count) });
  }

  // Decimal units, to match the kB and MB symbols that Intl prints.
  function formatSize(bytes) {
    const units = ["byte", "kilobyte", "megabyte", "gigabyte", "terabyte"];
    let value = Number(bytes) || 0;
    let index = 0;
    while (value >= 1000 && index < units.length - 1) {
      value /= 1000;
      index += 1;
    }
    return new Intl.NumberFormat(config.locale, {
      style: "unit",
      unit: units[index],
      unitDisplay: index === 0 ? "long" : "short",
      maximumFractionDigits: index === 0 ? 0 : 1,
    }).format(value);
  }

  function withTime(value, at) {
    return at ? format(S.valueAt, { value, time: formatTime(at) }) : value;
  }

  // Build an element. Children are nodes or strings, and strings become text nodes.
  function h(tag, attributes = {}, ...children) {
    const element = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) {
      if (value === null || value === undefined || value === false) continue;
      element.setAttribute(name, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      element.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return element;
  }

  // ---- token ----

  function readToken() {
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null");
    } catch {
      saved = null;
    }
    if (saved && typeof saved.token === "string" && Date.now() < saved.expiresAt - EXPIRY_MARGIN_MS) {
      return saved.token;
    }
    clearToken();
    return null;
  }

  function storeToken(token, expiresInSeconds) {
    const expiresAt = Date.now() + Number(expiresInSeconds) * 1000;
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify({ token, expiresAt }));
  }

  function clearToken() {
    sessionStorage.removeItem(TOKEN_KEY);
  }

  // ---- API ----

  async function api(path, { method = "GET", body } = {}) {
    const token = readToken();
    if (!token) throw new SignInRequired("");
    const headers = { Authorization: `Bearer ${token}`, Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";

    let response;
    try {
      response = await fetch(config.apiUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        cache: "no-store",
        credentials: "omit",
      });
    } catch {
      throw new ApiError(0, "unreachable", S.unreachable);
    }
    const payload = await response.json().catch(() => null);
    if (response.status === 401) {
      // An expired or revoked token is dropped, so the next attempt signs in afresh.
      clearToken();
      throw new SignInRequired(S.sessionExpired);
    }
    if (!response.ok) {
      const message = payload && typeof payload.message === "string"
        ? payload.message
        : format(S.unexpected, { status: response.status });
      throw new ApiError(response.status, payload && payload.error, message);
    }
    return payload;
  }

  function trackingPath() {
    if (state.messageId !== null) return `/messages/${encodeURIComponent(state.messageId)}`;
    const { by, value } = config.selection;
    if (by === "outlookItem") {
      const query = new URLSearchParams({ graphId: value.graphId, internetMessageId: value.internetMessageId });
      return `/messages/lookup?${query}`;
    }
    if (by === "messageId") return `/messages/${encodeURIComponent(value)}`;
    return `/messages/lookup?${by}=${encodeURIComponent(value)}`;
  }

  // ---- views ----

  const VIEWS = ["loading", "notice", "signin", "outlook-signin", "list", "message"];

  function show(view) {
    for (const name of VIEWS) byId(name).hidden = name !== view;
    const signedIn = view === "list" || view === "message";
    byId("all-messages").hidden = !config.selection || view === "signin" || state.outlook;
    byId("refresh").hidden = !signedIn;
    // Inside Outlook the user is signed in through Outlook, so there is nothing to sign out of.
    byId("signout").hidden = !(signedIn && config.demoSignin) || state.outlook;
  }

  function showNotice(text) {
    byId("notice").textContent = text;
    show("notice");
  }

  function showAlert(text) {
    byId("alert").textContent = text;
  }

  function announce(text) {
    byId("status").textContent = text;
  }

  function showSignIn(reason) {
    stopRefresh();
    state.lastPayload = null;
    state.focusId = null;
    byId("updated").textContent = "";
    if (state.outlook) {
      byId("outlook-signin-reason").textContent = reason || S.signinNeeded;
      show("outlook-signin");
      return;
    }
    if (!config.demoSignin) {
      showNotice(S.signinInOutlook);
      return;
    }
    byId("signin-error").textContent = reason || "";
    show("signin");
    byId("signin-username").focus();
  }

  // ---- loading and refresh ----

  function load(options = {}) {
    if (!state.loading) {
      state.loading = (config.selection ? loadMessage(options) : loadList(options))
        .finally(() => { state.loading = null; });
    }
    return state.loading;
  }

  async function loadMessage({ manual = false } = {}) {
    try {
      const data = await api(trackingPath());
      state.messageId = data.id;
      // A toggle under way reloads when it ends, and older data rendered now would undo it.
      if (state.pendingToggles > 0) return;
      const text = JSON.stringify({ ...data, refreshAfterSeconds: null });
      const changed = state.lastPayload !== null && text !== state.lastPayload;
      if (text !== state.lastPayload) renderMessage(data);
      state.lastPayload = text;
      // A scanner's fetch can leave the states as they were, so the timeline loads each time.
      tracking.loadTimeline(data.id);
      tracking.markSenderBrowser();
      show("message");
      markUpdated(manual, changed);
      scheduleRefresh(data.refreshAfterSeconds);
    } catch (error) {
      handleLoadError(error);
    }
  }

  async function loadList({ manual = false } = {}) {
    try {
      const data = await api("/messages");
      renderList(data.value || []);
      show("list");
      markUpdated(manual, false);
      scheduleRefresh(DEFAULT_REFRESH_SECONDS);
    } catch (error) {
      handleLoadError(error);
    }
  }

  function markUpdated(manual, changed) {
    const time = clockFormat.format(new Date());
    byId("updated").textContent = format(S.updatedAt, { time });
    // Only news is announced, because "Updated" every few seconds would drown a screen reader.
    if (changed) announce(format(S.changedAt, { time }));
    else if (manual) announce(format(S.updatedAt, { time }));
  }

  function handleLoadError(error) {
    if (error instanceof SignInRequired) {
      showSignIn(error.message);
      return;
    }
    if (!(error instanceof ApiError)) console.error(error);
    const dataOnScreen = !byId("message").hidden || !byId("list").hidden;
    if (error.status === 404 && state.messageId === null) {
      // The mirror may not have caught up with a message sent moments ago, so keep asking.
      showNotice(state.outlook ? S.notKnownInOutlook : S.notFound);
    } else if (dataOnScreen) {
      const text = format(S.refreshFailed, { message: error.message });
      byId("updated").textContent = text;
      announce(text);
    } else {
      showNotice(error.message);
    }
    scheduleRefresh(DEFAULT_REFRESH_SECONDS);
  }

  function scheduleRefresh(seconds) {
    stopRefresh();
    const delay = Math.max(MIN_REFRESH_SECONDS, Number(seconds) || DEFAULT_REFRESH_SECONDS);
    state.timer = setTimeout(refreshWhenDue, delay * 1000);
  }

  function stopRefresh() {
    clearTimeout(state.timer);
    state.timer = null;
  }

  function refreshWhenDue() {
    state.timer = null;
    if (document.visibilityState !== "visible") {
      state.stale = true;
      return;
    }
    if (state.pendingToggles > 0) {
      // The toggle reloads when it finishes, and a rebuild now would undo its disabled switch.
      scheduleRefresh(MIN_REFRESH_SECONDS);
      return;
    }
    load();
  }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && state.stale) {
      state.stale = false;
      load();
    }
  });

  // ---- list of messages ----

  function renderList(items) {
    const list = byId("list-items");
    list.replaceChildren();
    if (items.length === 0) {
      list.append(h("li", { class: "empty" }, S.listEmpty));
      return;
    }
    for (const item of items) {
      const url = `${config.listUrl}?messageId=${encodeURIComponent(item.id)}`;
      const meta = [
        item.sentAt ? format(S.sentOn, { time: formatTime(item.sentAt) }) : S.notSentYet,
        formatCount("recipientCountOne", "recipientCountOther", item.recipientCount || 0),
        item.hasShare ? S.secureFiles : S.noSecureFiles,
      ].join(" · ");
      list.append(h("li", {},
        h("a", { href: url, class: "message-link" },
          h("span", { class: "subject" }, item.subject || S.noSubject),
          h("span", { class: "meta" }, meta))));
    }
  }

  // ---- one message ----

  function renderMessage(data) {
    const active = document.activeElement;
    if (active && active.id && active !== document.body) state.focusId = active.id;
    const recipientsById = new Map((data.recipients || []).map((r) => [r.id, r]));
    const filesById = new Map((data.files || []).map((f) => [f.id, f]));
    const blockable = Boolean(data.share);
    const expired = isExpired(data.share);
    // The portal checks no address when verification is "none", so it cannot tell recipients
    // apart, and the API rejects recipient blocks on such shares.
    const recipientsBlockable = blockable && data.share.verification !== "none";

    byId("message-subject").textContent = data.subject || S.noSubject;
    byId("message-meta").textContent = [
      data.sentAt ? format(S.sentOn, { time: formatTime(data.sentAt) }) : S.notSentYet,
      data.sender ? format(S.from, { address: data.sender }) : null,
    ].filter(Boolean).join(" · ");

    const notes = [];
    if (data.inSentItems === false) notes.push(h("li", {}, S.notInSentItems));
    if (data.share) {
      const { expiresAt } = data.share;
      if (expired) {
        notes.push(h("li", { class: "is-expired", id: "share-expiry" },
          format(S.shareExpired, { time: formatTime(expiresAt) })));
      } else if (expiresAt) {
        notes.push(h("li", { id: "share-expiry" }, format(S.shareExpires, { time: formatTime(expiresAt) })));
      }
      notes.push(h("li", {}, data.share.verification === "none" ? S.verificationNone : S.verificationCode));
    } else {
      notes.push(h("li", {}, S.noShare));
    }
    byId("message-notes").replaceChildren(...notes);

    renderBlockAll(data, blockable, expired);
    renderMessageLevel(data.message);

    const recipients = data.recipients || [];
    byId("recipients-heading").textContent = format(S.recipientsHeading, { count: numberFormat.format(recipients.length) });
    const recipientBlocksNote = byId("recipient-blocks-note");
    recipientBlocksNote.hidden = !blockable || recipientsBlockable || recipients.length === 0;
    recipientBlocksNote.textContent = S.recipientBlocksUnavailable;
    byId("recipients").replaceChildren(...(recipients.length
      ? recipients.map((recipient) => renderRecipient(recipient, recipientsBlockable))
      : [h("li", { class: "empty" }, S.noRecipients)]));

    const files = data.files || [];
    byId("files-section").hidden = files.length === 0;
    byId("files-heading").textContent = format(S.filesHeading, { count: numberFormat.format(files.length) });
    byId("files").replaceChildren(...files.map((file) => renderFile(file, recipientsById, blockable)));

    renderHistory(data.blocks || [], recipientsById, filesById);
    restoreFocus();
  }

  function restoreFocus() {
    if (!state.focusId) return;
    const target = byId(state.focusId);
    if (target && document.activeElement !== target && !target.disabled) target.focus();
    state.focusId = null;
  }

  // Whether the share's secure link has expired. Blocks still take effect and are audited,
  // but no one can download while the link is expired.
  function isExpired(share) {
    if (!share || !share.expiresAt) return false;
    const expiresAt = Date.parse(share.expiresAt);
    return Number.isFinite(expiresAt) && expiresAt <= Date.now();
  }

  function renderBlockAll(data, blockable, expired) {
    const container = byId("block-all");
    const input = byId("block-all-switch");
    container.hidden = !blockable;
    container.classList.toggle("is-blocked", Boolean(data.blockAll));
    container.classList.toggle("is-expired", expired);
    setChecked(input, Boolean(data.blockAll));
    input.disabled = false;
    setBlockData(input, { scope: "all" }, data.blockAll);
    let hint = S.blockAllHint;
    if (data.blockAll) hint = S.blockAllActive;
    else if (expired) hint = S.blockAllExpired;
    byId("block-all-hint").textContent = hint;
  }

  function setBlockData(input, target, block) {
    input.dataset.scope = target.scope;
    if (target.recipientId !== undefined) input.dataset.recipientId = target.recipientId;
    if (target.fileId !== undefined) input.dataset.fileId = target.fileId;
    if (block) input.dataset.blockId = block.id;
    else delete input.dataset.blockId;
  }

  // One labelled row of a state list. `tone` is yes, no, bad or unknown. The words carry the
  // meaning, and the tone only adds a marker.
  function stateRow(label, value, tone, detail) {
    return h("div", { class: `state is-${tone}` },
      h("dt", {}, label),
      h("dd", {}, h("span", { class: "value" }, value, detail ? h("span", { class: "detail" }, detail) : null)));
  }

  function renderMessageLevel(evidence) {
    const section = byId("message-level");
    section.hidden = !evidence;
    if (!evidence) return;
    // The image is one URL for every recipient, so it proves only that someone opened it.
    const opened = tracking.describeState(evidence.opened, { someone: true });
    const linkOpened = tracking.describeState(evidence.linkOpened);
    const downloaded = tracking.describeState(evidence.downloaded);
    const forwarded = evidence.forwardedAccess || {};
    byId("message-level-states").replaceChildren(
      stateRow(S.opened, withTime(opened.text, evidence.opened && evidence.opened.at), opened.tone),
      stateRow(S.linkOpened, withTime(linkOpened.text, evidence.linkOpened && evidence.linkOpened.at), linkOpened.tone),
      stateRow(S.downloads, numberFormat.format(evidence.downloadCount || 0), downloaded.tone,
        evidence.downloaded && evidence.downloaded.evidence ? downloaded.text : null),
    );
    if (forwarded.value) {
      // Only the domains of the addresses tried are stored.
      const domains = (forwarded.domains || []).join(", ");
      byId("message-level-states").append(stateRow(S.forwarded,
        format(domains ? S.forwardedAccessDomains : S.forwardedAccess, {
          count: formatCount("forwardedCountOne", "forwardedCountOther", forwarded.count),
          domains,
          time: formatTime(forwarded.lastAt),
        }), "bad"));
    }
  }

  function renderRecipient(recipient, blockable) {
    const key = `recipient-${recipient.id}`;
    const name = recipient.displayName || recipient.address;
    const sent = recipient.sent || {};
    const received = recipient.received || { state: "unknown" };
    const opened = recipient.opened || {};
    const linkOpened = recipient.linkOpened || {};
    const verified = recipient.verified || {};
    const downloads = recipient.downloads || [];

    const receivedText = S.receivedState[received.state] || received.state;
    const receivedTone = received.state === "delivered" ? "yes"
      : ["failed", "quarantined", "filteredAsSpam"].includes(received.state) ? "bad"
        : received.state === "unknown" ? "unknown" : "no";

    const openedState = tracking.describeState(opened);
    const linkState = tracking.describeState(verified.value ? verified : linkOpened);
    const linkAt = verified.value ? verified.at : linkOpened.at;

    const downloadList = downloads.length
      ? h("ul", { class: "downloads" }, downloads.map((download) => h("li", {},
        format(S.fileDownload, {
          name: download.name,
          count: formatCount("downloadCountOne", "downloadCountOther", download.count),
          time: download.lastAt ? formatTime(download.lastAt) : "",
        }))))
      : S.none;

    return h("li", { class: `card recipient${recipient.block ? " is-blocked" : ""}`, id: key },
      h("div", { class: "card-head" },
        h("h3", { id: `${key}-name` }, name),
        h("span", { class: "badge" }, S.kind[recipient.kind] || recipient.kind),
        recipient.block ? h("span", { class: "badge badge-blocked" }, S.blocked) : null),
      name !== recipient.address ? h("p", { class: "address" }, recipient.address) : null,
      h("dl", { class: "states" },
        stateRow(S.sent, sent.value ? withTime(S.yes, sent.at) : S.notYet, sent.value ? "yes" : "no"),
        stateRow(S.received, withTime(receivedText, received.at), receivedTone, received.detail),
        stateRow(S.opened, withTime(openedState.text, opened.at), openedState.tone),
        stateRow(S.linkOpened, withTime(linkState.text, linkAt), linkState.tone),
        stateRow(S.downloads, downloadList, downloads.length ? "yes" : "no"),
        recipient.verificationLocked && recipient.verificationLocked.count
          ? stateRow(S.verificationLocked, format(S.verificationLockedValue,
            { time: formatTime(recipient.verificationLocked.lastAt) }), "bad")
          : null),
      blockable ? blockSwitch(`block-${key}`, S.blockRecipient, `${key}-name`,
        { scope: "recipient", recipientId: recipient.id }, recipient.block) : null);
  }

  function renderFile(file, recipientsById, blockable) {
    const key = `file-${file.id}`;
    const lines = (file.downloadedBy || []).map((entry) => {
      const recipient = recipientsById.get(entry.recipientId);
      const downloader = recipient ? (recipient.displayName || recipient.address) : entry.address;
      return format(S.downloadedBy, {
        recipient: downloader,
        count: formatCount("downloadCountOne", "downloadCountOther", entry.count),
        time: entry.lastAt ? formatTime(entry.lastAt) : "",
      });
    });
    if (file.unattributedDownloads) {
      lines.push(format(S.unattributed, {
        count: formatCount("downloadCountOne", "downloadCountOther", file.unattributedDownloads),
      }));
    }
    if (lines.length === 0) lines.push(S.notDownloaded);

    return h("li", { class: `card file${file.block ? " is-blocked" : ""}`, id: key },
      h("div", { class: "card-head" },
        h("h3", { id: `${key}-name` }, file.name),
        file.block ? h("span", { class: "badge badge-blocked" }, S.blocked) : null),
      h("p", { class: "meta" }, formatSize(file.size)),
      h("ul", { class: "downloads" }, lines.map((line) => h("li", {}, line))),
      blockable ? blockSwitch(`block-${key}`, S.blockFile, `${key}-name`,
        { scope: "file", fileId: file.id }, file.block) : null);
  }

  // Fluent's switch renders no label of its own, so a <label> beside it names it. The switch is
  // a form-associated custom element, so a click on that label toggles it as on a checkbox.
  function blockSwitch(id, label, describedBy, target, block) {
    const labelId = `${id}-label`;
    const input = h("fluent-switch", {
      id, role: "switch", "aria-labelledby": labelId, "aria-describedby": describedBy,
    });
    setChecked(input, Boolean(block));
    setBlockData(input, target, block);
    return h("div", { class: "switch" }, input, h("label", { id: labelId, for: id }, label));
  }

  function renderHistory(blocks, recipientsById, filesById) {
    const list = byId("history");
    if (blocks.length === 0) {
      list.replaceChildren(h("li", { class: "empty" }, S.historyEmpty));
      return;
    }
    const newestFirst = [...blocks].sort((a, b) => String(b.createdAt).localeCompare(String(a.createdAt)));
    list.replaceChildren(...newestFirst.map((block) => {
      let target = S.scopeAll;
      if (block.scope === "recipient") {
        const recipient = recipientsById.get(block.recipientId);
        const name = recipient ? (recipient.displayName || recipient.address) : format(S.unknownItem, { id: block.recipientId });
        target = format(S.scopeRecipient, { name });
      } else if (block.scope === "file") {
        const file = filesById.get(block.fileId);
        target = format(S.scopeFile, { name: file ? file.name : format(S.unknownItem, { id: block.fileId }) });
      }
      return h("li", { class: block.active ? "is-active" : "is-lifted" },
        h("span", { class: "history-target" }, target),
        h("span", {}, format(S.blockedBy, { actor: block.createdBy, time: formatTime(block.createdAt) })),
        h("span", {}, block.active
          ? S.stillActive
          : format(S.liftedBy, { actor: block.liftedBy || "", time: block.liftedAt ? formatTime(block.liftedAt) : "" })));
    }));
  }

  // ---- blocks ----

  function saveBlock(input, blocking) {
    const { scope, recipientId, fileId, blockId } = input.dataset;
    if (!blocking) return api(`/blocks/${encodeURIComponent(blockId)}/lift`, { method: "POST" });
    const body = { scope };
    if (scope === "recipient") body.recipientId = Number(recipientId);
    if (scope === "file") body.fileId = Number(fileId);
    return api(`/messages/${encodeURIComponent(state.messageId)}/blocks`, { method: "POST", body });
  }

  async function toggleBlock(input) {
    const blocking = input.checked;
    let signInReason = null;
    state.focusId = input.id;
    input.disabled = true;
    input.setAttribute("aria-busy", "true");
    state.pendingToggles += 1;
    showAlert("");
    try {
      await saveBlock(input, blocking);
    } catch (error) {
      setChecked(input, !blocking);
      if (error instanceof SignInRequired) signInReason = error.message;
      else showAlert(format(S.toggleFailed, { message: error.message }));
    } finally {
      input.disabled = false;
      input.removeAttribute("aria-busy");
      state.pendingToggles -= 1;
    }
    if (signInReason !== null) {
      showSignIn(signInReason);
      return;
    }
    // Reload even after a failure, because the block may have changed on the server meanwhile.
    state.lastPayload = null;
    if (state.loading) await state.loading;
    await load();
  }

  byId("message").addEventListener("change", (event) => {
    const input = event.target;
    if (input.matches("fluent-switch") && input.dataset.scope) toggleBlock(input);
  });

  // ---- sign-in ----

  async function signIn(event) {
    event.preventDefault();
    const username = byId("signin-username").value.trim();
    const password = byId("signin-password").value;
    const error = byId("signin-error");
    const button = byId("signin-submit");
    if (!username || !password) {
      error.textContent = S.signinMissing;
      return;
    }
    error.textContent = "";
    button.disabled = true;
    announce(S.signingIn);
    try {
      const response = await fetch(config.signinUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ username, password }),
        cache: "no-store",
        credentials: "omit",
      });
      const payload = await response.json().catch(() => null);
      if (!response.ok || !payload || typeof payload.accessToken !== "string") {
        error.textContent = (payload && payload.message) || S.signinFailed;
        return;
      }
      storeToken(payload.accessToken, payload.expiresIn);
      byId("signin-password").value = "";
      show("loading");
      await load();
    } catch {
      error.textContent = S.unreachable;
    } finally {
      button.disabled = false;
    }
  }

  function signOut() {
    clearToken();
    state.messageId = null;
    showSignIn("");
  }

  // ---- start ----

  const tracking = window.MailgripTracking.init({
    api, format, formatTime, h, readToken, strings: S, apiUrl: config.apiUrl,
  });

  byId("signin-form").addEventListener("submit", signIn);
  // A form whose only submit button is a custom element has no default button, so the browser
  // does not submit it when Enter is pressed in a field. This listener submits it instead, and
  // like a native default button, a disabled one (a sign-in under way) submits nothing.
  byId("signin-form").addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.isComposing || !(event.target instanceof HTMLInputElement)) return;
    event.preventDefault();
    if (!byId("signin-submit").disabled) {
      event.currentTarget.requestSubmit();
    }
  });
  byId("signout").addEventListener("click", signOut);
  byId("refresh").addEventListener("click", () => {
    state.lastPayload = null;
    load({ manual: true });
  });

  // ---- inside Outlook ----

  async function signInFromOutlook(interactive) {
    try {
      const { accessToken, expiresIn } = await window.mailgripSignin.acquireToken({ interactive });
      storeToken(accessToken, expiresIn);
    } catch (error) {
      showSignIn(error.message);
      return;
    }
    show("loading");
    await load();
  }

  function startInOutlook({ item }) {
    state.outlook = true;
    if (!item) {
      showNotice(S.noItem);
      return;
    }
    if (!item.sentByUser) {
      showNotice(S.notSentByYou);
      return;
    }
    config.selection = { by: "outlookItem", value: item };
    if (readToken()) load();
    else signInFromOutlook(false);
  }

  byId("outlook-signin-button").addEventListener("click", () => {
    announce(S.signingIn);
    signInFromOutlook(true);
  });

  // theme.js loads Fluent as a module. A property such as `checked`, set on a Fluent element
  // before its definition is registered, would hide the component's own property, so nothing
  // renders until the components used here are defined.
  const fluentDefined = Promise.all(["fluent-button", "fluent-switch", "fluent-checkbox"]
    .map((tag) => customElements.whenDefined(tag)));

  Promise.all([window.mailgripOutlook.ready, fluentDefined]).then(([outlook]) => {
    if (outlook) startInOutlook(outlook);
    else if (readToken()) load();
    else showSignIn("");
  });
})();
