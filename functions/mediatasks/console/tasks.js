// The task list: live (polled with back-off), filtered by kind and status, paged by the API's cursors.
import { call, openapi } from "./api.js";
import { h, when, statusBadge, poll, announce } from "./dom.js";
import { requestSchemas } from "./schema.js";

export function taskList(query) {
  const kind = query.get("kind") || "";
  const status = query.get("status") || "";
  const cursor = query.get("cursor") || "";
  const params = new URLSearchParams({ limit: "20" });
  if (kind) params.set("kind", kind);
  if (status) params.set("status", status);
  if (cursor) params.set("cursor", cursor);

  const body = h("tbody");
  const pager = h("nav", { class: "pager", "aria-label": "Pages" });
  const count = h("caption");
  // Each filter shows its current choice at once; the others come from the API's description when
  // a filter is first used: /openapi.json is larger than the whole rest of the console's first load.
  const chosenOption = (name) => (name ? [h("option", { value: name, selected: true }, name)] : []);
  const kindSelect = h("select", { id: "filter-kind" }, h("option", { value: "" }, "any kind"), ...chosenOption(kind));
  const statusSelect = h("select", { id: "filter-status" }, h("option", { value: "" }, "any status"), ...chosenOption(status));
  function addChoices(select, names, chosen) {
    for (const name of names) if (name !== chosen) select.append(h("option", { value: name }, name));
  }
  const filters = h("form", { class: "filters", role: "search", "aria-label": "Filter tasks" },
    h("div", {}, h("label", { for: "filter-kind" }, "Kind"), kindSelect),
    h("div", {}, h("label", { for: "filter-status" }, "Status"), statusSelect));
  filters.addEventListener("focusin", () => openapi().then((document_) => {
    addChoices(kindSelect, requestSchemas(document_).map((request) => request.kind), kind);
    addChoices(statusSelect, document_.components.schemas.Status.enum, status);
  }), { once: true });
  filters.addEventListener("change", () => {
    const chosen = new URLSearchParams();
    if (kindSelect.value) chosen.set("kind", kindSelect.value);
    if (statusSelect.value) chosen.set("status", statusSelect.value);
    location.hash = `#/tasks?${chosen}`;
  });

  function pageLink(link, label) {
    if (!link) return null;
    const next = new URLSearchParams(link.split("?")[1] || "");
    const keep = new URLSearchParams();
    if (kind) keep.set("kind", kind);
    if (status) keep.set("status", status);
    keep.set("cursor", next.get("cursor") || "");
    return h("a", { href: `#/tasks?${keep}` }, label);
  }

  let shown = null;
  async function load() {
    const page = await call("GET", `/tasks?${params}`);
    const fingerprint = JSON.stringify(page.data.map((task) => [task.id, task.status, task.progress]));
    if (fingerprint === shown) return fingerprint;
    if (shown !== null) announce("The task list was updated");
    shown = fingerprint;
    body.replaceChildren(...page.data.map((task) => h("tr", { "data-task": task.id },
      h("td", {}, h("a", { href: `#/tasks/${encodeURIComponent(task.id)}` }, h("code", {}, task.id))),
      h("td", {}, task.kind),
      h("td", {}, statusBadge(task.status)),
      h("td", {}, task.progress === null ? "—" : `${task.progress}%`),
      h("td", {}, when(task.created_at)),
      h("td", {}, when(task.updated_at)))));
    if (!page.data.length) body.append(h("tr", {}, h("td", { colspan: 6 }, "No tasks yet.")));
    count.textContent = `${page.total} task${page.total === 1 ? "" : "s"}, page ${page.page} of ${Math.max(page.pages, 1)}; updates by itself`;
    pager.replaceChildren(...[pageLink(page.links.prev, "Previous page"), pageLink(page.links.next, "Next page")].filter(Boolean));
    return fingerprint;
  }

  const element = h("div", {},
    h("div", { class: "actions" }, h("h1", {}, "Tasks"), h("a", { href: "#/new" }, "New task")),
    filters,
    h("table", { id: "tasks" }, count,
      h("thead", {}, h("tr", {}, ...["Task", "Kind", "Status", "Progress", "Created", "Updated"].map((name) => h("th", { scope: "col" }, name)))),
      body),
    pager);
  return { title: "Tasks", element, leave: poll(load) };
}
