// The client of Mailgrip's task-pane API that the launch events use: draft shares and
// resumable uploads, each request with the user's bearer token.
(function (root) {
  "use strict";
  const Mailgrip = (root.Mailgrip = root.Mailgrip || {});

  // 4 MiB chunks keep a lost chunk cheap to resend while needing few requests.
  const options = { chunkBytes: 4 * 1024 * 1024 };
  const REQUEST_TIMEOUT_MS = 30000;
  const MAX_CONFLICTS_IN_A_ROW = 3;

  /** Mailgrip could not be reached, failed, or refused the token: the outage policy applies. */
  class MailgripUnavailable extends Error {
    constructor(message, status) {
      super(message);
      this.status = status;
    }
  }

  /** Mailgrip rejected a request, such as a file over its size limit; `message` is its text. */
  class MailgripRejected extends Error {
    constructor(message, status, detail) {
      super(message);
      this.status = status;
      this.detail = detail;
    }
  }

  // NOTE: classic Outlook's JavaScript-only runtime could not be tried here. This code assumes
  // it offers fetch, AbortController and atob, as browsers and Node do.
  function createClient({ apiUrl, token, fetchImpl }) {
    const doFetch = fetchImpl || root.fetch.bind(root);

    async function request(method, path, { json, body, headers } = {}) {
      const controller = new AbortController();
      const timer = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
      const allHeaders = { Authorization: `Bearer ${token}`, ...(headers || {}) };
      if (json !== undefined) {
        allHeaders["Content-Type"] = "application/json";
      }

      let response;
      try {
        response = await doFetch(apiUrl + path, {
          method,
          headers: allHeaders,
          body: json !== undefined ? JSON.stringify(json) : body,
          signal: controller.signal,
        });
      } catch (error) {
        throw new MailgripUnavailable(`Mailgrip could not be reached (${method} ${path}): ${error.message}`);
      } finally {
        clearTimeout(timer);
      }

      if (response.status === 204) {
        return null;
      }
      let payload = null;
      try {
        payload = await response.json();
      } catch (error) {
        payload = null;
      }
      if (response.ok) {
        return payload;
      }

      const message = (payload && payload.message) || `${method} ${path} returned HTTP ${response.status}`;
      if (response.status === 401 || response.status === 403 || response.status >= 500) {
        throw new MailgripUnavailable(message, response.status);
      }
      throw new MailgripRejected(message, response.status, payload && payload.detail);
    }

    return {
      createDraftShare: () => request("POST", "/shares", { json: { draft: true } }),
      startUpload: (shareId, file) => request("POST", `/shares/${shareId}/uploads`, { json: file }),
      uploadStatus: (shareId, uploadId) => request("GET", `/shares/${shareId}/uploads/${uploadId}`),
      deleteUpload: (shareId, uploadId) => request("DELETE", `/shares/${shareId}/uploads/${uploadId}`),
      putChunk: (shareId, uploadId, bytes, first, size) =>
        request("PUT", `/shares/${shareId}/uploads/${uploadId}`, {
          body: bytes,
          headers: {
            "Content-Type": "application/octet-stream",
            "Content-Range": `bytes ${first}-${first + bytes.length - 1}/${size}`,
          },
        }),
    };
  }

  /**
   * Send the bytes of an upload from where the server's copy ends, chunk by chunk.
   * A 409 carries the server's byte count, so a chunk that was already stored is skipped.
   * Returns the completed upload.
   */
  async function sendBytes(client, shareId, upload, bytes, onProgress) {
    let current = upload;
    let conflicts = 0;
    while (!current.complete) {
      const first = current.receivedBytes;
      const last = Math.min(first + options.chunkBytes, bytes.length);
      try {
        current = await client.putChunk(shareId, upload.id, bytes.subarray(first, last), first, bytes.length);
        conflicts = 0;
      } catch (error) {
        const received = error.detail && error.detail.receivedBytes;
        if (error.status !== 409 || typeof received !== "number" || ++conflicts > MAX_CONFLICTS_IN_A_ROW) {
          throw error;
        }
        current = await client.uploadStatus(shareId, upload.id);
      }
      if (onProgress) {
        onProgress(current.receivedBytes, bytes.length);
      }
    }
    return current;
  }

  Mailgrip.api = { options, MailgripUnavailable, MailgripRejected, createClient, sendBytes };
})(typeof globalThis !== "undefined" ? globalThis : self);
