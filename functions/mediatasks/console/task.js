// One task: its files, each step as a timeline row, its error, cancel, webhook deliveries, raw JSON.
import { call, ApiError } from "./api.js";
import { h, when, duration, statusBadge, poll, announce } from "./dom.js";
import { preview, readableData } from "./preview.js";
import { trackPlayer } from "./tracks.js";

const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

function properties(entries) {
  return h("dl", { class: "props" }, ...entries.filter(([, value]) => value !== null && value !== undefined && value !== "")
    .flatMap(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}

// An input is shown without a player: its URL may be anyone's, and the page asks only the API and
// its storage for anything.
function fileCard(file, label, { playable = true } = {}) {
  return h("section", { class: "file", "aria-label": `${label} ${file.kind} file` },
    h("h3", {}, `${label}: ${file.kind} (${file.format})`),
    playable ? preview(file) : null,
    properties([
      ["id", file.id ? h("code", {}, file.id) : null],
      ["type", file.type],
      ["size", file.width && file.height ? `${file.width}×${file.height}` : null],
      ["duration", file.duration ? `${file.duration.toFixed(2)} s` : null],
      ["fps", file.fps],
      ["bitrate", file.bitrate ? `${Math.round(file.bitrate / 1000)} kb/s` : null],
      ["bytes", file.filesize],
      ["codecs", file.codecs ? Object.values(file.codecs).filter(Boolean).join(", ") : null],
      ["renditions", file.renditions ? file.renditions.map((r) => `${r.width}×${r.height}`).join(", ") : null],
      ["link", file.url && playable ? h("a", { href: file.url, rel: "noreferrer" }, "download") : null],
    ]),
    file.data !== undefined && file.data !== null ? readableData(file.data) : null);
}

function timeline(steps) {
  return h("ol", { class: "timeline", "aria-label": "Steps" }, ...steps.map((step) => h("li", { class: `step-${step.status}` },
    h("strong", {}, step.kind), " ", statusBadge(step.status), " ",
    h("progress", { max: 100, value: step.progress ?? (step.status === "succeeded" ? 100 : 0), "aria-label": `${step.kind} progress` }),
    h("div", { class: "when" }, "started ", when(step.started_at), " · finished ", when(step.finished_at),
      " · took ", duration(step.started_at, step.finished_at)),
    step.error ? h("p", { class: "error" }, `${step.error.kind}: ${step.error.message}`) : null)));
}

function webhookLog(taskId, attempts, refresh) {
  const replay = h("button", { type: "button", id: "replay" }, "Replay the last event");
  replay.addEventListener("click", async () => {
    replay.disabled = true;
    try { await call("POST", `/tasks/${encodeURIComponent(taskId)}/webhooks/replay`); announce("Replay started"); refresh(); }
    catch (refused) { announce(refused.message); replay.after(h("p", { class: "error" }, refused.message)); }
    finally { replay.disabled = false; }
  });
  return h("section", { "aria-labelledby": "webhooks-heading" }, h("h2", { id: "webhooks-heading" }, "Webhook deliveries"),
    attempts.length ? h("table", {}, h("thead", {}, h("tr", {}, ...["Event", "Attempt", "Sent", "Status", "Took", "Outcome", "Error"].map((n) => h("th", { scope: "col" }, n)))),
      h("tbody", {}, ...attempts.map((a) => h("tr", {}, h("td", {}, a.event), h("td", {}, a.attempt), h("td", {}, when(a.attempted_at)),
        h("td", {}, a.status_code ?? "—"), h("td", {}, `${a.duration_ms} ms`), h("td", {}, a.outcome), h("td", {}, a.error || "")))))
      : h("p", {}, "No delivery yet."),
    replay);
}

export function taskDetail(taskId) {
  const path = `/tasks/${encodeURIComponent(taskId)}`;
  const element = h("div", {}, h("h1", {}, `Task ${taskId}`), h("p", {}, "Loading…"));
  let shownUpdate = null;
  let stopped = false;
  async function load() {
    let task;
    try { task = await call("GET", path); }
    catch (refused) {
      if (refused instanceof ApiError && refused.status === 404) { element.replaceChildren(h("h1", {}, "No such task"), h("p", {}, refused.message)); stop(); }
      throw refused;
    }
    const fingerprint = `${task.updated_at}:${task.status}:${task.progress}`;
    if (fingerprint === shownUpdate) return fingerprint;
    const firstShow = shownUpdate === null;
    shownUpdate = fingerprint;
    const attempts = task.webhook_url ? (await call("GET", `${path}/webhooks`).catch(() => ({ data: [] }))).data : null;
    const cancel = h("button", { type: "button", class: "danger", id: "cancel", disabled: TERMINAL.has(task.status) }, "Cancel task");
    cancel.addEventListener("click", async () => {
      cancel.disabled = true;
      try { await call("POST", `${path}/cancel`); announce("Task cancelled"); shownUpdate = null; await load(); }
      catch (refused) { cancel.after(h("p", { class: "error", role: "alert" }, refused.message)); }
    });
    // a playing preview is kept while the task is unchanged; it is rebuilt only when the task moves
    element.replaceChildren(...[
      h("div", { class: "actions" }, h("h1", {}, `Task `, h("code", {}, task.id)), cancel),
      properties([
        ["kind", task.kind], ["status", h("span", { id: "task-status" }, statusBadge(task.status))],
        ["progress", task.progress === null ? null : `${task.progress}%`], ["input", task.input],
        ["created", when(task.created_at)], ["started", when(task.started_at)], ["finished", when(task.finished_at)],
        ["took", duration(task.started_at, task.finished_at)], ["parent", task.parent_id ? h("a", { href: `#/tasks/${task.parent_id}` }, task.parent_id) : null],
        ["media", task.media_id],
      ]),
      task.error ? h("section", { class: "task-error", role: firstShow ? null : "alert", "aria-labelledby": "error-heading" },
        h("h2", { id: "error-heading" }, "Why it failed"),
        h("p", { class: "error" }, h("code", { id: "error-kind" }, task.error.kind), ": ", h("span", { id: "error-message" }, task.error.message))) : null,
      h("h2", {}, "Steps"), timeline(task.steps),
      trackPlayer(task),
      h("h2", {}, "Output"), task.outputs.length ? h("div", { class: "files", id: "outputs" }, ...task.outputs.map((file) => fileCard(file, "Output")))
        : h("p", {}, TERMINAL.has(task.status) ? "No output." : "Not made yet."),
      h("h2", {}, "Input"), task.inputs.length ? h("div", { class: "files", id: "inputs" }, ...task.inputs.map((file) => fileCard(file, "Input", { playable: false })))
        : h("p", {}, "Not probed yet."),
      attempts ? webhookLog(task.id, attempts, () => { shownUpdate = null; }) : null,
      h("details", {}, h("summary", {}, "Raw JSON"), h("pre", { id: "raw" }, JSON.stringify(task, null, 2))),
    ].filter(Boolean));
    if (!firstShow) announce(`Task is ${task.status}`);
    if (TERMINAL.has(task.status) && !attempts) stop();
    return fingerprint;
  }
  const stopPolling = poll(load);
  function stop() { if (!stopped) { stopped = true; stopPolling(); } }
  return { title: `Task ${taskId}`, element, leave: stop };
}
