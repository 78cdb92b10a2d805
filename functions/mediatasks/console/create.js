// The create form, generated from /openapi.json: one fieldset of the chosen kind's options, the
// request's other fields, the input as a URL or a local file (uploaded as the CLI uploads one).
// The API validates; its refusal is shown beside the field it names.
import { call, openapi, uploadFile, ApiError } from "./api.js";
import { h, announce } from "./dom.js";
import { requestSchemas, nonNull, inputKind, typedValue } from "./schema.js";

// The request fields the form lays out itself; every other one is generated.
const LAID_OUT = new Set(["kind", "options", "input", "file_id", "media_id"]);

function fieldId(path) {
  return `field-${path.replace(/[^A-Za-z0-9_-]/g, "-")}`;
}

function control(document_, path, name, rawSchema, required) {
  const { schema } = nonNull(document_, rawSchema);
  const id = fieldId(path);
  const kind = inputKind(schema);
  const described = [];
  const hintText = [schema.description || rawSchema.description, schema.default !== undefined ? `default ${JSON.stringify(schema.default)}` : null]
    .filter(Boolean).join("; ");
  let input;
  if (kind === "select") {
    input = h("select", { id, name: path }, h("option", { value: "" }, "(default)"),
      ...schema.enum.map((value) => h("option", { value }, value)));
  } else if (kind === "number") {
    input = h("input", { id, name: path, type: "number", step: schema.type === "integer" ? (schema.multipleOf || 1) : "any", min: schema.minimum, max: schema.maximum });
  } else if (kind === "checkbox") {
    input = h("select", { id, name: path }, h("option", { value: "" }, "(default)"), h("option", { value: "true" }, "yes"), h("option", { value: "false" }, "no"));
  } else if (kind === "json") {
    input = h("textarea", { id, name: path, rows: 3, spellcheck: "false" });
  } else {
    input = h("input", { id, name: path, type: "text", autocomplete: "off", required });
  }
  if (hintText) described.push(`${id}-hint`);
  described.push(`${id}-error`);
  input.setAttribute("aria-describedby", described.join(" "));
  const wrapper = h("div", { class: "field", "data-field": path },
    h("label", { for: id }, rawSchema.title || schema.title || name, kind === "json" ? " (JSON)" : ""),
    input,
    hintText ? h("p", { class: "hint", id: `${id}-hint` }, hintText) : null,
    h("p", { class: "field-error", id: `${id}-error` }));
  const read = () => {
    const text = input.value;
    if (text === "") return undefined;
    if (kind === "number") return Number(text);
    if (kind === "checkbox") return text === "true";
    if (kind === "json") return JSON.parse(text);
    return typedValue(schema, text);
  };
  return { path, wrapper, read, input };
}

export function createTask() {
  const element = h("div", {}, h("h1", {}, "New task"), h("p", {}, "Loading the API's description…"));
  openapi().then((document_) => element.replaceChildren(h("h1", {}, "New task"), form(document_)));
  return { title: "New task", element };
}

function form(document_) {
  const requests = requestSchemas(document_);
  const kindSelect = h("select", { id: "field-kind", name: "kind" }, ...requests.map((request) => h("option", { value: request.kind }, request.kind)));
  const optionsBox = h("div");
  const inputUrl = h("input", { id: "field-input", name: "input", type: "url", autocomplete: "off", "aria-describedby": "field-input-hint field-input-error" });
  const inputFile = h("input", { id: "field-file", name: "file", type: "file", "aria-describedby": "field-input-error" });
  const formError = h("p", { class: "error", id: "form-error", role: "alert" });
  const uploadProgress = h("progress", { id: "upload-progress", max: 1, value: 0, hidden: true, "aria-label": "Upload" });
  let controls = [];

  function layOut() {
    const request = requests.find((candidate) => candidate.kind === kindSelect.value);
    controls = [];
    const optionFields = request.options && request.options.properties ? Object.entries(request.options.properties) : [];
    const optionRequired = new Set((request.options && request.options.required) || []);
    const options = optionFields.map(([name, schema]) => control(document_, `options.${name}`, name, schema, optionRequired.has(name)));
    const others = Object.entries(request.schema.properties).filter(([name]) => !LAID_OUT.has(name))
      .map(([name, schema]) => control(document_, name, name, schema, false));
    controls = [...options, ...others];
    optionsBox.replaceChildren(
      options.length ? h("fieldset", {}, h("legend", {}, `${request.kind} options`), ...options.map((c) => c.wrapper)) : h("p", {}, `${request.kind} takes no options.`),
      others.length ? h("fieldset", {}, h("legend", {}, "Output and delivery"), ...others.map((c) => c.wrapper)) : null);
  }
  kindSelect.addEventListener("change", layOut);
  layOut();

  function clearErrors(root) {
    for (const field of root.querySelectorAll("[data-invalid]")) field.removeAttribute("data-invalid");
    for (const message of root.querySelectorAll(".field-error")) message.textContent = "";
    formError.textContent = "";
  }

  function showError(root, error) {
    const path = error.field || "";
    // the API names the field as a dotted path; the closest field the form has shows the message
    const candidates = [path, path.split(".").slice(0, 2).join("."), path.split(".")[0]];
    const field = candidates.map((candidate) => root.querySelector(`[data-field="${CSS.escape(candidate)}"]`)).find(Boolean);
    if (field) {
      field.setAttribute("data-invalid", "");
      field.querySelector(".field-error").textContent = `${error.kind}: ${error.message}`;
      field.querySelector("input, select, textarea").focus();
    } else {
      formError.textContent = `${error.kind}: ${error.message}`;
    }
    announce(`The task was refused: ${error.message}`);
  }

  const root = h("form", { novalidate: true, id: "create-form" },
    h("div", { class: "field", "data-field": "kind" }, h("label", { for: "field-kind" }, "Kind"), kindSelect,
      h("p", { class: "field-error", id: "field-kind-error" })),
    h("fieldset", {}, h("legend", {}, "Input"),
      h("div", { class: "field", "data-field": "input" },
        h("label", { for: "field-input" }, "Input URL"), inputUrl,
        h("p", { class: "hint", id: "field-input-hint" }, "http://, https:// or s3://, or choose a local file below"),
        h("p", { class: "field-error", id: "field-input-error" })),
      h("div", { class: "field", "data-field": "file_id" },
        h("label", { for: "field-file" }, "Or a local file (uploaded to managed storage first)"), inputFile, uploadProgress,
        h("p", { class: "field-error", id: "field-file_id-error" }))),
    optionsBox,
    formError,
    h("button", { type: "submit", id: "create" }, "Create task"));

  root.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(root);
    const submit = root.querySelector("#create");
    submit.disabled = true;
    try {
      const body = { kind: kindSelect.value };
      for (const item of controls) {
        let value;
        try {
          value = item.read();
        } catch (unreadable) {
          showError(root, { field: item.path, kind: "invalid_json", message: "this field is not valid JSON" });
          return;
        }
        if (value === undefined) continue;
        const [head, tail] = item.path.split(".");
        if (tail) body[head] = { ...(body[head] || {}), [tail]: value };
        else body[head] = value;
      }
      if (inputFile.files.length) {
        uploadProgress.hidden = false;
        body.file_id = await uploadFile(inputFile.files[0], (done) => { uploadProgress.value = done; });
      } else if (inputUrl.value) {
        body.input = inputUrl.value;
      }
      const task = await call("POST", "/tasks", body);
      announce(`Task ${task.id} created`);
      location.hash = `#/tasks/${encodeURIComponent(task.id)}`;
    } catch (refused) {
      if (refused instanceof ApiError) showError(root, refused);
      else formError.textContent = "the API could not be reached";
    } finally {
      submit.disabled = false;
    }
  });
  return root;
}
