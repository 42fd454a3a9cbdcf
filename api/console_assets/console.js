// The asl-engine console: vanilla JavaScript, no build step, no dependencies.
//
// Pages are hash routes (#/machines, #/machines/ARN, #/executions/ARN, #/validate) drawn into
// <main>. Reads go to the console's JSON under /console/api; start, stop and redrive go to the
// REST API under /v1, as any client's would. A running execution is polled every 500 ms for
// what is new only (the events past the last one shown, the states they changed), and its
// graph recoloured in place (no reload). When the server wants a token, the user types it
// once; it is kept in this tab's sessionStorage and sent as `Authorization: Bearer`.
"use strict";

const TOKEN_KEY = "asl-console-token";
const POLL_MS = 500;
const PAGE_SIZE = 50;
let generation = 0; // bumped on every navigation: a stale poll stops itself

// -- helpers ----------------------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function main() {
  return document.getElementById("main");
}

function announce(text) {
  document.getElementById("live").textContent = text;
}

function badge(status) {
  return el("span", { class: `badge ${status}`, "data-status": status }, status);
}

function pretty(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") {
    try {
      return JSON.stringify(JSON.parse(value), null, 2);
    } catch (_) {
      return value;
    }
  }
  return JSON.stringify(value, null, 2);
}

class ApiFailure extends Error {
  constructor(status, type, message) {
    super(message);
    this.status = status;
    this.type = type;
  }
}

async function api(path, options = {}) {
  const headers = { Accept: "application/json" };
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method: options.method || "GET",
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
  });
  const text = await response.text();
  let body = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch (_) {
    body = { message: text };
  }
  if (!response.ok) {
    const type = (body && body.__type) || `HTTP ${response.status}`;
    if (type === "MissingAuthenticationTokenException" || type === "UnrecognizedClientException") {
      askForToken(type === "UnrecognizedClientException");
    }
    throw new ApiFailure(response.status, type, (body && body.message) || response.statusText);
  }
  return body;
}

function askForToken(wrong) {
  const form = document.getElementById("token-form");
  form.hidden = false;
  const input = document.getElementById("token-input");
  input.setAttribute("aria-invalid", wrong ? "true" : "false");
  input.focus();
}

function showFailure(error) {
  const box = el(
    "div",
    { class: "error-box", role: "alert" },
    el("strong", { text: error.type || "Error" }),
    el("pre", { text: error.message })
  );
  main().replaceChildren(box);
}

function enc(value) {
  return encodeURIComponent(value);
}

// -- the graph and the source beside it -------------------------------------------------------

function graphView(svgText, label) {
  const holder = el("div", { class: "graph", tabindex: "0", role: "region", "aria-label": label });
  holder.innerHTML = svgText;
  const svg = holder.querySelector("svg");
  if (svg) {
    // interactive states inside: a group of controls, not one image
    svg.setAttribute("role", "group");
    svg.setAttribute("aria-label", label);
    for (const state of svg.querySelectorAll("g.state")) {
      state.setAttribute("role", "button");
    }
  }
  return holder;
}

function sourceView(text, label) {
  const pre = el("pre", { class: "source", tabindex: "0", "aria-label": label });
  text.split("\n").forEach((line, index) => {
    pre.append(el("span", { class: "line", "data-n": index + 1, id: `L${index + 1}` }, line));
  });
  return pre;
}

function highlight(source, span, cls = "hl") {
  for (const line of source.querySelectorAll(`.${cls}`)) line.classList.remove(cls);
  if (!span) return;
  const [first, last] = span;
  for (let n = first; n <= last; n += 1) {
    const line = source.querySelector(`[data-n="${n}"]`);
    if (line) line.classList.add(cls);
  }
  const top = source.querySelector(`[data-n="${first}"]`);
  if (top) source.scrollTop += top.getBoundingClientRect().top - source.getBoundingClientRect().top - 40;
}

function onStateSelected(graph, handler) {
  const select = (target) => {
    const state = target.closest && target.closest("g.state");
    if (!state) return;
    for (const other of graph.querySelectorAll("g.state.selected")) other.classList.remove("selected");
    state.classList.add("selected");
    handler(state.dataset.id, state);
  };
  graph.addEventListener("click", (event) => select(event.target));
  graph.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      select(event.target);
    }
  });
}

// -- pages ------------------------------------------------------------------------------------

async function machinesPage() {
  const { machines } = await api("/console/api/machines");
  const rows = machines.map((m) =>
    el(
      "tr",
      {},
      el("td", {}, el("a", { href: `#/machines/${enc(m.arn)}` }, m.name)),
      el("td", {}, m.type),
      el("td", {}, m.created),
      el("td", {}, m.updated)
    )
  );
  main().replaceChildren(
    el("h1", {}, "State machines"),
    machines.length
      ? el(
          "table",
          { "aria-label": "State machines" },
          el("thead", {}, el("tr", {}, ["Name", "Type", "Created", "Updated"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, rows)
        )
      : el("p", {}, "No state machines yet. Create one with the API (POST /v1/machines) or an AWS SDK.")
  );
}

async function machinePage(arn) {
  const data = await api(`/console/api/machines/${enc(arn)}`);
  const source = sourceView(data.source, "Definition source");
  const graph = graphView(data.svg, `Graph of ${data.machine.name}`);
  const selected = el("p", { class: "muted", id: "selected-state" }, "Select a state to see its lines in the source.");
  onStateSelected(graph, (id, state) => {
    highlight(source, data.lines[id]);
    selected.textContent = `Selected: ${state.dataset.name} (${state.dataset.type})`;
  });
  const nameInput = el("input", { id: "start-name", placeholder: "generated when empty", maxlength: "80" });
  const inputArea = el("textarea", { id: "start-input", rows: "4", style: "min-height:80px" }, "{}");
  const startForm = el(
    "form",
    { class: "toolbar", "aria-label": "Start an execution" },
    el("label", { for: "start-name" }, "Execution name", nameInput),
    el("label", { for: "start-input", style: "flex:1" }, "Input (JSON)", inputArea),
    el("button", { type: "submit", class: "primary" }, "Start execution")
  );
  startForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    let input;
    try {
      input = JSON.parse(inputArea.value || "null");
    } catch (error) {
      announce(`The input is not JSON: ${error.message}`);
      inputArea.setAttribute("aria-invalid", "true");
      return;
    }
    const body = { input };
    if (nameInput.value) body.name = nameInput.value;
    try {
      const started = await api(`/v1/machines/${enc(arn)}/executions`, { method: "POST", body });
      location.hash = `#/executions/${enc(started.arn)}`;
    } catch (error) {
      announce(`${error.type}: ${error.message}`);
      startForm.after(el("div", { class: "error-box", role: "alert" }, `${error.type}: ${error.message}`));
    }
  });
  main().replaceChildren(
    el("p", {}, el("a", { href: "#/machines" }, "State machines"), " / ", data.machine.name),
    el("h1", {}, data.machine.name, " ", el("span", { class: "muted" }, `(${data.machine.type})`)),
    el("div", { class: "split" }, el("div", {}, graph, selected), source),
    el("h2", {}, "Start an execution"),
    el("div", { class: "panel" }, startForm),
    el("h2", {}, "Executions"),
    executionsPanel(arn),
    el("h2", {}, "Versions"),
    data.versions.length
      ? el(
          "table",
          { "aria-label": "Versions" },
          el("thead", {}, el("tr", {}, ["Version", "Description", "Created"].map((h) => el("th", { scope: "col" }, h)))),
          el("tbody", {}, data.versions.map((v) => el("tr", {}, el("td", {}, String(v.version)), el("td", {}, v.description), el("td", {}, v.created))))
        )
      : el("p", { class: "muted" }, "No published versions."),
    el("h2", {}, "Aliases"),
    data.aliases.length
      ? el(
          "table",
          { "aria-label": "Aliases" },
          el("thead", {}, el("tr", {}, ["Alias", "Routing", "Description"].map((h) => el("th", { scope: "col" }, h)))),
          el(
            "tbody",
            {},
            data.aliases.map((a) =>
              el("tr", {}, el("td", {}, a.name), el("td", {}, a.routing.map((r) => `v${r.version}: ${r.weight}%`).join(", ")), el("td", {}, a.description))
            )
          )
        )
      : el("p", { class: "muted" }, "No aliases.")
  );
}

function executionsPanel(arn) {
  const status = el(
    "select",
    { id: "status-filter" },
    ["", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"].map((s) => el("option", { value: s }, s || "Any status"))
  );
  const search = el("input", { id: "name-search", type: "search", placeholder: "part of a name" });
  const body = el("tbody", {});
  const more = el("button", { type: "button", id: "next-page", hidden: true }, "Next page");
  const count = el("p", { class: "muted", "aria-live": "polite" });
  let token = null;
  let shown = 0;
  const load = async (reset) => {
    if (reset) {
      token = null;
      shown = 0;
      body.replaceChildren();
    }
    const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
    if (status.value) query.set("status", status.value);
    if (search.value) query.set("name", search.value);
    if (token) query.set("next_token", token);
    const page = await api(`/v1/machines/${enc(arn)}/executions?${query}`);
    for (const e of page.executions) {
      body.append(
        el(
          "tr",
          {},
          el("td", {}, el("a", { href: `#/executions/${enc(e.arn)}` }, e.name)),
          el("td", {}, badge(e.status)),
          el("td", {}, e.startDate),
          el("td", {}, e.stopDate || "")
        )
      );
    }
    shown += page.executions.length;
    token = page.nextToken;
    more.hidden = !token;
    count.textContent = `${shown} execution${shown === 1 ? "" : "s"} shown${token ? ", more on the next page" : ""}.`;
  };
  const form = el(
    "form",
    { class: "toolbar", role: "search", "aria-label": "Filter executions" },
    el("label", { for: "status-filter" }, "Status", status),
    el("label", { for: "name-search" }, "Name contains", search),
    el("button", { type: "submit" }, "Filter")
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    load(true).catch(showFailure);
  });
  status.addEventListener("change", () => load(true).catch(showFailure));
  more.addEventListener("click", () => load(false).catch(showFailure));
  load(true).catch(showFailure);
  return el(
    "div",
    { class: "panel" },
    form,
    el(
      "table",
      { "aria-label": "Executions", id: "executions" },
      el("thead", {}, el("tr", {}, ["Name", "Status", "Started", "Stopped"].map((h) => el("th", { scope: "col" }, h)))),
      body
    ),
    count,
    more
  );
}

async function executionPage(arn) {
  const mine = generation;
  let data = await api(`/console/api/executions/${enc(arn)}`);
  let lastEvent = 0;
  const execution = data.execution;
  const graph = graphView(data.svg, `Graph of execution ${execution.name}`);
  const source = sourceView(data.source, "Definition source");
  const statusCell = el("span", { id: "execution-status" });
  const stopButton = el("button", { type: "button", class: "danger", id: "stop" }, "Stop");
  const redriveButton = el("button", { type: "button", id: "redrive" }, "Redrive");
  const outcome = el("div", { id: "outcome" });
  const details = el("div", { class: "details panel", id: "state-details", "aria-live": "polite" }, el("p", { class: "muted" }, "Select a state to see its input, output, error and cause."));
  const historyBody = el("tbody", {});
  const children = el("ul", { id: "children" });
  let selectedId = null;
  let states = data.states;

  const showState = () => {
    if (!selectedId || !states[selectedId]) return;
    const s = states[selectedId];
    const parts = [
      el("h3", {}, `${s.name} `, badge(s.status)),
      el("p", {}, `${s.type}, entered ${s.entered} time${s.entered === 1 ? "" : "s"}`),
    ];
    if (s.iterations) parts.push(el("p", { id: "map-iterations" }, `Map iterations: ${s.iterations[0]} started, ${s.iterations[1]} succeeded, ${s.iterations[2]} failed`));
    if (s.mapRun) parts.push(el("p", { id: "map-run" }, `Map Run: ${s.mapRun}`));
    for (const key of ["input", "output", "error", "cause"]) {
      if (s[key] !== null && s[key] !== undefined) parts.push(el("h4", {}, key[0].toUpperCase() + key.slice(1)), el("pre", { class: `state-${key}`, tabindex: "0" }, pretty(s[key])));
    }
    details.replaceChildren(...parts);
  };
  onStateSelected(graph, (id) => {
    selectedId = id;
    highlight(source, data.lines[id]);
    showState();
  });

  // Each poll brings the events past the last one shown and the states they changed; render
  // touches only those: the rows are appended, the changed states recoloured, and the outcome,
  // the children and the selected state's details redrawn only when they differ.
  let shownOutcome = null;
  let shownChildren = null;
  const render = (changed, events) => {
    const e = data.execution;
    statusCell.replaceChildren(badge(e.status));
    stopButton.disabled = e.status !== "RUNNING";
    redriveButton.disabled = !["FAILED", "ABORTED", "TIMED_OUT"].includes(e.status);
    const outcomeKey = JSON.stringify([e.status, e.error, e.cause, e.output]);
    if (outcomeKey !== shownOutcome) {
      shownOutcome = outcomeKey;
      const boxes = [];
      if (e.error || e.cause) {
        boxes.push(el("div", { class: "error-box", role: "status" }, el("strong", {}, e.error || ""), el("pre", { tabindex: "0" }, e.cause || "")));
      }
      if (e.status === "SUCCEEDED") boxes.push(el("h2", {}, "Output"), el("pre", { class: "panel", id: "execution-output", tabindex: "0" }, pretty(e.output)));
      outcome.replaceChildren(...boxes);
    }
    for (const [id, s] of Object.entries(changed)) {
      const node = graph.querySelector(`g.state[data-id="${CSS.escape(id)}"]`);
      if (!node) continue;
      for (const cls of [...node.classList]) if (cls.startsWith("status-")) node.classList.remove(cls);
      node.classList.add(`status-${s.status}`);
    }
    const rows = [];
    for (const event of events) {
      if (event.id <= lastEvent) continue; // already shown (a poll racing a Stop's)
      lastEvent = event.id;
      const detailKey = Object.keys(event).find((k) => k.endsWith("EventDetails"));
      const detail = detailKey ? event[detailKey] : null;
      const name = detail && detail.name ? detail.name : "";
      rows.push(
        el(
          "tr",
          { "data-event": event.id },
          el("td", {}, String(event.id)),
          el("td", {}, event.type),
          el("td", {}, name),
          el("td", {}, event.timestamp),
          el("td", { class: "mono" }, detail ? pretty(detail).slice(0, 400) : "")
        )
      );
    }
    historyBody.append(...rows);
    const childrenKey = JSON.stringify(data.children);
    if (childrenKey !== shownChildren) {
      shownChildren = childrenKey;
      children.replaceChildren(...data.children.map((c) => el("li", {}, el("a", { href: `#/executions/${enc(c)}` }, c))));
    }
    if (selectedId && selectedId in changed) showState();
  };

  stopButton.addEventListener("click", async () => {
    stopButton.disabled = true;
    try {
      await api(`/v1/executions/${enc(arn)}/stop`, { method: "POST", body: { error: "Console", cause: "Stopped from the console" } });
      announce("Stop requested");
    } catch (error) {
      announce(`${error.type}: ${error.message}`);
    }
    poll(true);
  });
  redriveButton.addEventListener("click", async () => {
    redriveButton.disabled = true;
    try {
      await api(`/v1/executions/${enc(arn)}/redrive`, { method: "POST" });
      announce("Redrive started");
    } catch (error) {
      announce(`${error.type}: ${error.message}`);
    }
    poll(false); // the polling had ended with the execution: it runs again
  });

  const parent = execution.parentArn ? el("p", {}, "Started by ", el("a", { href: `#/executions/${enc(execution.parentArn)}` }, execution.parentArn)) : null;
  const parts = [
    el(
      "p",
      {},
      el("a", { href: "#/machines" }, "State machines"),
      " / ",
      el("a", { href: `#/machines/${enc(execution.machineArn)}` }, execution.machineName),
      " / ",
      execution.name
    ),
    el("h1", {}, execution.name, " ", statusCell),
    el("div", { class: "toolbar" }, stopButton, redriveButton, el("span", { class: "muted" }, `Started ${execution.startDate}`)),
    parent,
    outcome,
    el(
      "p",
      { class: "legend" },
      el("span", { class: "muted" }, "States:"),
      ["running", "succeeded", "failed", "caught", "cancelled", "not-run"].map((status) => el("span", { class: `badge ${status}` }, status))
    ),
    el("div", { class: "split" }, graph, el("div", {}, details, el("h2", {}, "Definition"), source)),
    el("h2", {}, "Child executions"),
    children,
    el("h2", {}, "History"),
    el(
      "table",
      { id: "history", "aria-label": "Execution history" },
      el("thead", {}, el("tr", {}, ["Id", "Type", "State", "Timestamp", "Details"].map((h) => el("th", { scope: "col" }, h)))),
      historyBody
    ),
  ];
  main().replaceChildren(...parts.filter((part) => part !== null));
  render(states, data.events);

  let polling = false;
  async function poll(once) {
    if (mine !== generation || polling) return;
    polling = true;
    try {
      const next = await api(`/console/api/executions/${enc(arn)}?after=${lastEvent}`);
      if (mine !== generation) return;
      const was = data.execution.status;
      // only the states the new events changed come: merged into those the page has
      states = { ...states, ...next.states };
      data = { ...data, execution: next.execution, states, children: next.children };
      render(next.states, next.events);
      if (was !== next.execution.status) announce(`Execution ${next.execution.status}`);
    } catch (error) {
      announce(`${error.type}: ${error.message}`);
    } finally {
      polling = false;
    }
    if (!once) schedule();
  }
  function schedule() {
    if (mine !== generation) return;
    const status = data.execution.status;
    if (status === "RUNNING" || status === "PENDING_REDRIVE") setTimeout(() => poll(false), POLL_MS);
  }
  schedule();
}

async function validatePage() {
  const area = el("textarea", { id: "definition", spellcheck: "false", "aria-describedby": "definition-help" });
  const file = el("input", { type: "file", id: "definition-file", accept: ".json,.yaml,.yml,.asl" });
  const type = el("select", { id: "machine-type" }, el("option", { value: "STANDARD" }, "STANDARD"), el("option", { value: "EXPRESS" }, "EXPRESS"));
  const result = el("div", { id: "validation", "aria-live": "polite" });
  file.addEventListener("change", async () => {
    if (file.files.length) area.value = await file.files[0].text();
  });
  const form = el(
    "form",
    { "aria-label": "Validate a definition" },
    el("p", { id: "definition-help", class: "muted" }, "Paste a definition (JSON or YAML) or choose a file, then validate it."),
    el("label", { for: "definition" }, "Definition"),
    area,
    el(
      "div",
      { class: "toolbar" },
      el("label", { for: "definition-file" }, "Upload a file", file),
      el("label", { for: "machine-type" }, "Type", type),
      el("button", { type: "submit", class: "primary", id: "validate" }, "Validate")
    )
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    try {
      const data = await api("/console/api/graph", { method: "POST", body: { definition: area.value, type: type.value } });
      const source = sourceView(data.source, "Definition source");
      const graph = graphView(data.svg, "Graph of the definition");
      onStateSelected(graph, (id) => highlight(source, data.lines[id]));
      const list = el(
        "ul",
        { class: "diagnostics", id: "diagnostics" },
        data.diagnostics.map((d) =>
          el(
            "li",
            { class: d.severity.toLowerCase() },
            el("strong", {}, `${d.severity} ${d.code}`),
            ` at ${d.location}: ${d.message} `,
            d.lines ? el("button", { type: "button", onclick: () => highlight(source, d.lines, "diag") }, `Show line ${d.lines[0]}`) : null
          )
        )
      );
      result.replaceChildren(
        el("h2", {}, data.valid ? "Valid" : "Invalid", " ", badge(data.valid ? "SUCCEEDED" : "FAILED")),
        data.diagnostics.length ? list : el("p", {}, "No diagnostics."),
        el("div", { class: "split" }, graph, source)
      );
      const first = data.diagnostics.find((d) => d.lines);
      if (first) highlight(source, first.lines, "diag");
    } catch (error) {
      result.replaceChildren(el("div", { class: "error-box", role: "alert" }, `${error.type}: ${error.message}`));
    }
  });
  main().replaceChildren(el("h1", {}, "Validate a definition"), el("div", { class: "panel" }, form), result);
}

// -- routing ----------------------------------------------------------------------------------

async function route() {
  generation += 1;
  const hash = location.hash || "#/machines";
  const [, page, ...rest] = hash.split("/");
  const arg = rest.length ? decodeURIComponent(rest.join("/")) : null;
  try {
    if (page === "machines" && arg) await machinePage(arg);
    else if (page === "executions" && arg) await executionPage(arg);
    else if (page === "validate") await validatePage();
    else await machinesPage();
    document.title = `${document.querySelector("main h1")?.textContent || "Console"} · asl-engine`;
  } catch (error) {
    showFailure(error);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, document.getElementById("token-input").value);
    document.getElementById("token-form").hidden = true;
    route();
  });
  window.addEventListener("hashchange", route);
  route();
});
