// Attachment handling: the choice of which ones Mailgrip replaces with a link, and their upload
// into the draft share.
(function (root) {
  "use strict";
  const Mailgrip = (root.Mailgrip = root.Mailgrip || {});
  const { office, api, body, state } = Mailgrip;

  /**
   * Return how Mailgrip treats an attachment: "managed" (uploaded and replaced by the link),
   * "inline" (an image the HTML body shows), "cloud" (a OneDrive or SharePoint link) or
   * "item" (an attached message or event). Only "managed" ones leave the message.
   */
  function classify(attachment, htmlBody) {
    if (attachment.attachmentType === "cloud") {
      return "cloud";
    }
    if (attachment.attachmentType !== "file") {
      return "item";
    }
    if (attachment.isInline || body.refersToContentId(htmlBody, attachment.name)) {
      return "inline";
    }
    return "managed";
  }

  function decodeBase64(text) {
    const binary = root.atob(text);
    const bytes = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i += 1) {
      bytes[i] = binary.charCodeAt(i);
    }
    return bytes;
  }

  /** Create the message's draft share unless the state already names one. */
  async function ensureShare(item, client, current) {
    if (current.shareId) {
      return current;
    }
    const share = await client.createDraftShare();
    const created = { shareId: share.id, link: share.link, openTrackingUrl: share.openTrackingUrl, uploads: {} };
    await state.save(item, created);
    return created;
  }

  /**
   * Upload one attachment into the share, resuming where the server's copy ends, and
   * return its state entry once complete.
   */
  async function ensureUploaded(item, client, current, attachment, onProgress) {
    let entry = current.uploads[attachment.id];
    if (entry && entry.complete) {
      return entry;
    }
    const content = await office.getAttachmentContent(item, attachment.id);
    // Office.MailboxEnums.AttachmentContentFormat.Base64 is "base64"; file attachments use it.
    if (content.format !== "base64") {
      throw new Error(`Attachment ${attachment.name} came as ${content.format}, not base64.`);
    }
    const bytes = decodeBase64(content.content);

    let upload;
    if (entry) {
      upload = await client.uploadStatus(current.shareId, entry.uploadId);
    } else {
      upload = await client.startUpload(current.shareId, {
        name: attachment.name,
        size: bytes.length,
        contentType: attachment.contentType || null,
      });
      entry = { uploadId: upload.id, name: attachment.name, size: bytes.length, complete: false };
      current.uploads[attachment.id] = entry;
      await state.save(item, current);
    }

    const done = await api.sendBytes(client, current.shareId, upload, bytes, (received, size) =>
      onProgress(attachment, received, size),
    );
    entry.complete = true;
    entry.fileName = done.file.name;
    entry.fileSize = done.file.size;
    await state.save(item, current);
    return entry;
  }

  /** Remove the upload of an attachment that the user removed from the message. */
  async function forget(item, client, current, attachmentId) {
    const entry = current.uploads[attachmentId];
    if (!entry || !current.shareId) {
      return;
    }
    try {
      await client.deleteUpload(current.shareId, entry.uploadId);
    } catch (error) {
      // An upload the server no longer has is as good as removed.
      if (error.status !== 404) {
        throw error;
      }
    }
    delete current.uploads[attachmentId];
    await state.save(item, current);
  }

  Mailgrip.attachments = { classify, decodeBase64, ensureShare, ensureUploaded, forget };
})(typeof globalThis !== "undefined" ? globalThis : self);
