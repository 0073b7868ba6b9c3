// REST calls to the edge, with its error shape (`{"detail": …}`) made an
// Error that says what went wrong.

export class ApiError extends Error {
  constructor(message, status) {
    super(message);
    this.status = status;
  }
}

function reason(body, fallback) {
  const detail = body?.detail;
  return typeof detail === "string" ? detail : detail?.[0]?.msg ?? fallback;
}

export async function api(path, options = {}) {
  const init = { method: options.method ?? "GET", credentials: "same-origin", headers: {} };
  if (options.body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = JSON.stringify(options.body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(reason(body, response.statusText), response.status);
  return body;
}

// `POST /media` with the file as the body; XMLHttpRequest because fetch
// cannot report an upload's progress.
export function upload(file, progress) {
  return new Promise((done, fail) => {
    const request = new XMLHttpRequest();
    request.open("POST", `/media?name=${encodeURIComponent(file.name)}`);
    if (file.type) request.setRequestHeader("content-type", file.type);
    request.upload.onprogress = (event) => {
      if (event.lengthComputable) progress(event.loaded / event.total);
    };
    request.onload = () => {
      let body = null;
      try {
        body = JSON.parse(request.responseText);
      } catch {}
      if (request.status === 201) return done(body);
      fail(new ApiError(`${file.name}: ${reason(body, request.statusText)}`, request.status));
    };
    request.onerror = () => fail(new ApiError(`${file.name}: the upload failed (offline?)`, 0));
    request.send(file);
  });
}
