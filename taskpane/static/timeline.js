// Mailgrip task pane: the words for each state's evidence, the timeline of a message, and the
// cookie that keeps the sender's own views out of tracking. Loaded before taskpane.js, which
// hands over its helpers through init(). Every string comes from the page's translated
// configuration; data reaches the page only as text nodes.
"use strict";

window.MailgripTracking = (() => {
  const PERSON = "person";
  let pane = null; // { api, format, formatTime, h, strings }
  let messageId = null;
  let entries = [];
  let loadFailed = false;
  let senderMarked = false;

  // Return the text and tone of one state: "yes" only for a person's evidence, "unknown" for
  // weak evidence (a proxy, a scanner, an unrecognised client), "no" when nothing was seen.
  function describeState(stateValue, { someone = false } = {}) {
    const S = pane.strings;
    const evidence = stateValue && stateValue.evidence;
    if (!evidence) return { text: S.notYet, tone: "no" };
    const label = stateValue.label || "unknown";
    if (stateValue.value && label === PERSON) {
      const byTemplate = stateValue.by ? S.personEvidenceBy[evidence] : null;
      const phrase = byTemplate
        ? pane.format(byTemplate, { address: stateValue.by })
        : S.personEvidence[evidence] || evidence;
      const template = someone && evidence === "image" ? S.someoneOpened : S.confirmed;
      return { text: pane.format(template, { evidence: phrase }), tone: "yes" };
    }
    const phrases = S.weakEvidence[label] || S.weakEvidence.unknown;
    const phrase = phrases[evidence] || evidence;
    return { text: pane.format(S.notConfirmed, { evidence: phrase }), tone: "unknown" };
  }

  function init(helpers) {
    pane = helpers;
    const filter = document.getElementById("timeline-people-only");
    filter.addEventListener("change", render);
    return { describeState, loadTimeline, markSenderBrowser };
  }

  // Ask for the signed cookie that labels this browser's own portal visits and image fetches
  // as the sender's. Unlike the API calls, this request lets the browser store a cookie.
  async function markSenderBrowser() {
    const token = pane.readToken();
    if (senderMarked || !token) return;
    senderMarked = true;
    try {
      const response = await fetch(`${pane.apiUrl}/sender-cookie`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
        credentials: "same-origin",
        cache: "no-store",
      });
      if (!response.ok) senderMarked = false;
    } catch {
      senderMarked = false; // tried again with the next load
    }
  }

  async function loadTimeline(id) {
    messageId = id;
    try {
      const data = await pane.api(`/messages/${encodeURIComponent(id)}/timeline`);
      if (id !== messageId) return; // another message was selected meanwhile
      entries = Array.isArray(data.value) ? data.value : [];
      loadFailed = false;
    } catch {
      // The pane's own load reports sign-in and connection problems, so the list only shows
      // that the timeline is missing.
      loadFailed = true;
    }
    render();
  }

  function render() {
    const S = pane.strings;
    const { h } = pane;
    const peopleOnly = document.getElementById("timeline-people-only").checked;
    const shown = peopleOnly ? entries.filter((entry) => entry.label === PERSON) : entries;
    const list = document.getElementById("timeline");
    let items;
    if (loadFailed) items = [h("li", { class: "empty" }, S.timelineFailed)];
    else if (shown.length === 0) items = [h("li", { class: "empty" }, peopleOnly ? S.timelineNoPeople : S.timelineEmpty)];
    else items = shown.map(renderEntry);
    list.replaceChildren(...items);
  }

  function renderEntry(entry) {
    const S = pane.strings;
    const { h, format } = pane;
    const kindText = S.eventKind[entry.kind] || format(S.eventKindOther, { kind: entry.kind });
    const labelText = S.labels[entry.label] || entry.label;
    const reasons = Array.isArray(entry.reasons) ? entry.reasons : [];
    return h("li", { class: `timeline-entry is-${entry.label}`, "data-label": entry.label },
      h("div", { class: "timeline-head" },
        h("time", { datetime: entry.at || "" }, entry.at ? pane.formatTime(entry.at) : ""),
        h("span", { class: `badge label-${entry.label}` }, labelText)),
      h("p", { class: "timeline-what" }, kindText, entry.file ? ` · ${entry.file.name}` : ""),
      h("p", { class: "timeline-who" }, actorText(entry)),
      reasons.length ? h("p", { class: "timeline-why" }, format(S.because, { reasons: reasons.join("; ") })) : null);
  }

  function actorText(entry) {
    const S = pane.strings;
    if (entry.actor === "sender") return S.actorSender;
    if (entry.actor === "forwarded") {
      const domain = entry.detail && entry.detail.domain;
      return domain ? pane.format(S.actorForwardedDomain, { domain }) : S.actorForwarded;
    }
    if (entry.recipient) return entry.recipient.address;
    return S.actorUnknown;
  }

  return { init };
})();
