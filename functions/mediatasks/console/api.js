// The console's one way to the API: the same origin, the path the console was served under (a
// deployed API's stage prefix, e.g. /prod), the key from this browser session's storage only.
const KEY_ITEM = "mediatasks.api-key";
export const apiBase = location.pathname.replace(/\/console(\/.*)?$/, "");

export class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : `HTTP ${status}`);
    this.status = status;
    this.kind = body && body.kind ? body.kind : "http_error";
    this.field = body && body.field ? body.field : null;
  }
}

export const session = {
  key: () => sessionStorage.getItem(KEY_ITEM),
  signIn: (key) => sessionStorage.setItem(KEY_ITEM, key),
  signOut: () => sessionStorage.removeItem(KEY_ITEM),
};

// `path` is the API's (a list's links.next is one too). JSON in, JSON out; a refusal throws ApiError.
export async function call(method, path, body) {
  const headers = { Authorization: `Bearer ${session.key()}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const reply = await fetch(apiBase + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
  });
  const parsed = await reply.json().catch(() => null);
  if (!reply.ok) throw new ApiError(reply.status, parsed);
  return parsed;
}

export async function openapi() {
  const reply = await fetch(`${apiBase}/openapi.json`);
  return reply.json();
}

// A local file through the upload path the CLI takes (functions/mediatasks/cli/uploads.py):
// POST /uploads, each part PUT straight to its link, complete, then wait until it is stored.
const LINKS_PER_REQUEST = 100;
export async function uploadFile(file, onProgress) {
  const filename = file.name.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[._-]+/, "").slice(0, 128) || "upload";
  const upload = await call("POST", "/uploads", { filename, size: file.size });
  const numbers = Array.from({ length: upload.parts }, (_, i) => i + 1);
  let sent = 0;
  for (let start = 0; start < numbers.length; start += LINKS_PER_REQUEST) {
    const links = await call("POST", `/uploads/${encodeURIComponent(upload.id)}/parts`, {
      part_numbers: numbers.slice(start, start + LINKS_PER_REQUEST),
    });
    for (const link of links.data) {
      const offset = (link.part_number - 1) * upload.part_size;
      // a presigned link carries its own authorization: the API key is never sent to storage
      const put = await fetch(link.url, { method: "PUT", body: file.slice(offset, offset + upload.part_size) });
      if (!put.ok) throw new ApiError(put.status, { kind: "upload_failed", message: `storage refused part ${link.part_number}` });
      sent += 1;
      onProgress(sent / upload.parts);
    }
  }
  let stored = await call("POST", `/uploads/${encodeURIComponent(upload.id)}/complete`);
  while (stored.status === "waiting" || stored.status === "processing") {
    await new Promise((resolve) => setTimeout(resolve, 500));
    stored = await call("GET", `/files/${encodeURIComponent(stored.id)}`);
  }
  if (stored.status !== "ready") throw new ApiError(0, { kind: "upload_failed", message: "the API could not store the file" });
  return stored.id;
}
