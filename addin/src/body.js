// The secure-files block that replaces attachments in the message body, in HTML and in text.
(function (root) {
  "use strict";
  const Mailgrip = (root.Mailgrip = root.Mailgrip || {});

  const BLOCK_ID = "mailgrip-secure-files";
  const DEFAULT_MESSAGES = {
    blockTitle: "Secure files",
    blockIntro: "The files of this message are shared through a secure link:",
    openLink: "Open the secure files",
  };

  function escapeHtml(text) {
    return String(text)
      .replace(/&/g, "&amp;")
      .replace(/</g, "&lt;")
      .replace(/>/g, "&gt;")
      .replace(/"/g, "&quot;")
      .replace(/'/g, "&#39;");
  }

  /** Format a size in bytes with SI units (1 kB is 1000 bytes). */
  function formatSize(bytes) {
    if (bytes < 1000) {
      return `${bytes} bytes`;
    }
    const units = ["kB", "MB", "GB", "TB"];
    let value = bytes;
    let unit = -1;
    while (value >= 1000 && unit < units.length - 1) {
      value /= 1000;
      unit += 1;
    }
    return `${value.toFixed(1)} ${units[unit]}`;
  }

  function htmlBlock(share, files, messages) {
    const link = escapeHtml(share.link);
    const items = files
      .map((file) => `<li><a href="${link}">${escapeHtml(file.name)}</a> (${formatSize(file.size)})</li>`)
      .join("");
    // The image is the open-tracking pixel. It has one URL per message, so it cannot tell
    // recipients apart.
    return (
      `<div id="${BLOCK_ID}" style="border:1px solid #c8c6c4;padding:8px 12px;margin:12px 0;">` +
      `<p style="margin:0 0 4px 0;"><strong>${escapeHtml(messages.blockTitle)}</strong></p>` +
      `<p style="margin:0 0 4px 0;">${escapeHtml(messages.blockIntro)}</p>` +
      `<ul style="margin:0 0 4px 0;">${items}</ul>` +
      `<p style="margin:0;"><a href="${link}">${escapeHtml(messages.openLink)}</a></p>` +
      `<img src="${escapeHtml(share.openTrackingUrl)}" width="1" height="1" alt="" style="display:block;border:0;">` +
      `</div>`
    );
  }

  // NOTE: a plain-text body cannot carry the tracking image, so such messages count as
  // opened only when a recipient opens the link.
  function textBlock(share, files, messages) {
    const lines = files.map((file) => `- ${file.name} (${formatSize(file.size)})`);
    return ["", "", `${messages.blockTitle}`, messages.blockIntro, ...lines, `${messages.openLink}: ${share.link}`, ""].join(
      "\n",
    );
  }

  /**
   * Return `body` with the secure-files block added: in HTML before the closing body tag,
   * in text at the end. `type` is Office's body type, "html" or "text".
   */
  function addSecureFiles(body, type, share, files, messages) {
    const strings = { ...DEFAULT_MESSAGES, ...(messages || {}) };
    if (type !== "html") {
      return body + textBlock(share, files, strings);
    }
    const block = htmlBlock(share, files, strings);
    const closing = body.toLowerCase().lastIndexOf("</body>");
    if (closing === -1) {
      return body + block;
    }
    return body.slice(0, closing) + block + body.slice(closing);
  }

  /** Return whether an HTML body refers to an attachment as an inline image (`cid:`). */
  function refersToContentId(body, name) {
    if (!body || !name) {
      return false;
    }
    const lower = body.toLowerCase();
    return lower.includes(`cid:${name.toLowerCase()}`) || lower.includes(`cid:${encodeURIComponent(name).toLowerCase()}`);
  }

  Mailgrip.body = { BLOCK_ID, addSecureFiles, formatSize, escapeHtml, refersToContentId };
})(typeof globalThis !== "undefined" ? globalThis : self);
