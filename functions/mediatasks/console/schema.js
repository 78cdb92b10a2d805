// Reads the API's own description (/openapi.json): every kind a task may be, and the model of its
// options, come from there, so a kind or an option added to the registry shows with no change here.

export function resolve(document_, schema) {
  if (schema && schema.$ref) return resolve(document_, document_.components.schemas[schema.$ref.split("/").pop()]);
  return schema || {};
}

// Each POST /tasks request model: its kind, its own fields and its options' model.
export function requestSchemas(document_) {
  const union = document_.paths["/tasks"].post.requestBody.content["application/json"].schema.oneOf;
  return union.map((reference) => {
    const schema = resolve(document_, reference);
    const options = schema.properties.options ? resolve(document_, schema.properties.options) : null;
    return { kind: schema.properties.kind.const, schema, options };
  });
}

// A field's schema without its `null` alternative, and whether null was allowed.
export function nonNull(document_, schema) {
  const resolved = resolve(document_, schema);
  const choices = resolved.anyOf ? resolved.anyOf.map((choice) => resolve(document_, choice)) : null;
  if (!choices) return { schema: resolved, optional: false };
  const kept = choices.filter((choice) => choice.type !== "null");
  const optional = kept.length < choices.length;
  if (kept.length !== 1) return { schema: { ...resolved, anyOf: kept }, optional };
  // one alternative left (which may itself be a choice, as a width of pixels or a percentage is)
  return { schema: nonNull(document_, { ...resolved, anyOf: undefined, ...kept[0] }).schema, optional };
}

// How a field is entered: "select" (an enum), "number", "checkbox", "json" (arrays, objects) or
// "text" (strings, and values that may be a number or a string such as a width of "50%").
export function inputKind(schema) {
  if (schema.enum) return "select";
  if (schema.type === "integer" || schema.type === "number") return "number";
  if (schema.type === "boolean") return "checkbox";
  if (schema.type === "array" || schema.type === "object" || (!schema.type && !schema.anyOf)) return "json";
  return "text";
}

// A text field's value as the API takes it: a number when the schema allows one and it reads as one.
export function typedValue(schema, text) {
  const numeric = (schema.anyOf || [schema]).some((choice) => choice.type === "integer" || choice.type === "number");
  if (numeric && text.trim() !== "" && !Number.isNaN(Number(text))) return Number(text);
  return text;
}
