// Tells the task pane whether it runs inside Outlook and, if so, which message is open.
// Outside Office (a plain browser, the demo) Office.onReady reports no host and the pane keeps
// its browser behaviour: demo sign-in and the list of messages.
"use strict";

window.mailgripOutlook = (() => {
  function sameAddress(a, b) {
    return Boolean(a && b) && a.trim().toLowerCase() === b.trim().toLowerCase();
  }

  // Outlook shows the read-surface button on every message, not only in Sent Items, so the
  // pane must tell messages the user sent from those sent by someone else.
  function readItem() {
    const mailbox = Office.context.mailbox;
    const item = mailbox.item;
    if (!item || !item.itemId) return { item: null };
    const sender = item.from || item.sender;
    const user = mailbox.userProfile;
    return {
      item: {
        // Outlook reports an EWS id; Mailgrip's API takes the REST spelling that Graph uses.
        graphId: mailbox.convertToRestId(item.itemId, Office.MailboxEnums.RestVersion.v2_0),
        internetMessageId: item.internetMessageId || "",
        sentByUser: sameAddress(sender && sender.emailAddress, user && user.emailAddress),
      },
    };
  }

  // Resolves to null outside Outlook, else to { item } with item null when no message is open.
  const ready = new Promise((resolve) => {
    if (typeof Office === "undefined" || typeof Office.onReady !== "function") {
      resolve(null);
      return;
    }
    Office.onReady().then(
      (info) => resolve(info && info.host === Office.HostType.Outlook ? readItem() : null),
      () => resolve(null),
    );
  });

  return { ready };
})();
