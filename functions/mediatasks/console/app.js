// The console's router: #/tasks, #/tasks/<id>, #/new; the sign-in page until a key is given.
import { call, session, ApiError } from "./api.js";
import { h } from "./dom.js";
import { taskList } from "./tasks.js";
import { taskDetail } from "./task.js";
import { createTask } from "./create.js";

const main = document.getElementById("main");
const signOut = document.getElementById("sign-out");
let leave = () => {};

function show(title, ...content) {
  document.title = `${title} · mediatasks console`;
  main.replaceChildren(...content);
}

function signInPage() {
  const error = h("p", { class: "error", id: "key-error", role: "alert" });
  const key = h("input", { type: "password", id: "api-key", name: "api-key", autocomplete: "off", required: true, "aria-describedby": "key-hint key-error" });
  const form = h("form", { class: "signin", novalidate: true },
    h("div", { class: "field" },
      h("label", { for: "api-key" }, "API key"),
      key,
      h("p", { class: "hint", id: "key-hint" }, "Kept in this browser tab's session only; closing the tab forgets it.")),
    error,
    h("button", { type: "submit" }, "Sign in"));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    session.signIn(key.value.trim());
    try {
      await call("GET", "/tasks?limit=1");
      route();
    } catch (refused) {
      session.signOut();
      error.textContent = refused instanceof ApiError ? refused.message : "the API could not be reached";
    }
  });
  show("Sign in", h("h1", {}, "Sign in"), form);
  key.focus();
}

function route() {
  leave();
  leave = () => {};
  signOut.hidden = !session.key();
  if (!session.key()) { signInPage(); return; }
  const path = location.hash.replace(/^#/, "") || "/tasks";
  const detail = path.match(/^\/tasks\/([^/?]+)$/);
  const view = detail ? taskDetail(decodeURIComponent(detail[1]))
    : path === "/new" ? createTask()
    : taskList(new URLSearchParams(path.split("?")[1] || ""));
  leave = view.leave || (() => {});
  show(view.title, view.element);
  main.focus({ preventScroll: true });
}

signOut.addEventListener("click", () => { session.signOut(); location.hash = "#/tasks"; route(); });
window.addEventListener("hashchange", route);
route();
