// The todolist page: plain JavaScript, no build step, no dependencies.
//
// It speaks the todolist's native API (api/login, api/currentUser, api/todos) with
// relative addresses, so the same file works at / and under a base path. Every
// failure the API reports reaches the user in the message area (role="alert"):
// nothing fails silently, and a failed action leaves the list as it was.
"use strict";

(function () {
  const TOKEN_KEY = "faasify-todolist.token";
  const USER_KEY = "faasify-todolist.user";
  const STAGE_NOTES = {
    stateful:
      "Todos live in this server process's memory: a second instance keeps a second list, " +
      "and a restart forgets them all.",
    pooled: "Stateless functions: each one reaches the database through its own small pool.",
    baas: "The function holds no database connection: it calls the todo data service.",
  };

  const body = document.body;
  const maxLength = () => Number(body.dataset.maxLength) || 500;
  const pageSize = clamp(Number(new URLSearchParams(location.search).get("limit")) || 20, 1, 100);

  const $ = (testid) => document.querySelector(`[data-testid="${testid}"]`);
  const el = {
    message: $("message"),
    stage: $("stage"),
    stageName: $("stage-name"),
    session: $("session"),
    currentUser: $("current-user"),
    signOut: $("sign-out"),
    login: $("login"),
    loginForm: $("login-form"),
    username: $("login-username"),
    todos: $("todos"),
    addForm: $("add-form"),
    newText: $("new-text"),
    newTextCount: $("new-text-count"),
    empty: $("empty"),
    loading: $("loading"),
    retry: $("retry"),
    retryLoad: $("retry-load"),
    list: $("todo-list"),
    loadMore: $("load-more"),
    exportButton: $("export"),
    exportProgress: $("export-progress"),
  };

  const state = {
    token: localStorage.getItem(TOKEN_KEY),
    user: localStorage.getItem(USER_KEY) || "",
    items: [], // todos in display order: newest first
    next: null, // the cursor of the following page, or null at the end
  };

  // -- talking to the API ---------------------------------------------------------------

  class ApiError extends Error {
    constructor(status, message, problem) {
      super(message);
      this.status = status;
      this.problem = problem;
    }
  }

  function clamp(value, low, high) {
    return Math.min(high, Math.max(low, Math.floor(value)));
  }

  /** Seconds to wait, from a Retry-After header (delay-seconds or an HTTP date). */
  function retryAfterSeconds(response) {
    const value = response.headers.get("Retry-After");
    if (!value) return null;
    if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.max(1, Math.ceil(Number(value)));
    const when = Date.parse(value);
    if (Number.isNaN(when)) return null;
    return Math.max(1, Math.ceil((when - Date.now()) / 1000));
  }

  function describeFailure(response, problem) {
    const status = response.status;
    const detail = problem && typeof problem.detail === "string" ? problem.detail : "";
    if (status === 429 || status === 503) {
      const seconds = retryAfterSeconds(response);
      const when = seconds === null ? "in a moment" : `in ${seconds} s`;
      return `The service is busy, try again ${when}.`;
    }
    if (status === 401) return "Your session has ended. Please sign in again.";
    if (status >= 500) {
      return `The server failed to answer (${status}${detail ? ": " + detail : ""}). Try again.`;
    }
    const title = problem && typeof problem.title === "string" ? problem.title : "";
    return sentence(detail || title) || `The request was refused (${status}).`;
  }

  /** "text is too long" -> "Text is too long." */
  function sentence(text) {
    const trimmed = text.trim();
    if (!trimmed) return "";
    const capital = trimmed[0].toUpperCase() + trimmed.slice(1);
    return /[.!?]$/.test(capital) ? capital : `${capital}.`;
  }

  async function api(method, path, payload) {
    const headers = { Accept: "application/json, application/problem+json", "X-Todo-Tab": TAB };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    const init = { method, headers, cache: "no-store" };
    if (payload !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(payload);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (error) {
      throw new ApiError(0, "Could not reach the server. Check the connection and try again.");
    }
    if (response.headers.get("X-Todo-Live") === "on") listen();
    let data = null;
    const text = await response.text().catch(() => "");
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (error) {
        data = null;
      }
    }
    if (!response.ok) throw new ApiError(response.status, describeFailure(response, data), data);
    return data;
  }

  // -- messages -------------------------------------------------------------------------

  function say(text, kind = "error") {
    el.message.textContent = text;
    el.message.dataset.kind = kind;
    el.message.classList.toggle("shown", Boolean(text));
  }

  function clearMessage() {
    say("", "");
  }

  /** Runs one user action: clears the last message, reports any failure, never throws. */
  async function act(action, control, onError) {
    clearMessage();
    if (control) control.disabled = true;
    try {
      await action();
      return true;
    } catch (error) {
      if (!(error instanceof ApiError)) {
        say(`Something went wrong in the page: ${error && error.message ? error.message : error}`);
      } else if (error.status === 401) {
        signOut(error.message);
      } else if (!onError || !onError(error)) {
        say(error.message);
      }
      return false;
    } finally {
      if (control) control.disabled = false;
    }
  }

  /** Why a todo's text cannot be sent, or "" when it can. */
  function invalidText(text) {
    if (!text.trim()) return "Write something first: a todo cannot be empty.";
    const limit = maxLength();
    if (text.length > limit) {
      return `A todo can be at most ${limit} characters; this one has ${text.length}.`;
    }
    return "";
  }

  // -- views ----------------------------------------------------------------------------

  function showStage(stage) {
    el.stageName.textContent = stage;
    el.stage.title = STAGE_NOTES[stage] || "";
    el.stage.hidden = false;
  }

  function showLogin() {
    el.session.hidden = true;
    el.todos.hidden = true;
    el.login.hidden = false;
    el.username.focus();
  }

  function showApp() {
    el.currentUser.textContent = state.user;
    el.session.hidden = false;
    el.login.hidden = true;
    el.todos.hidden = false;
  }

  // -- live changes: news of this user's changes made elsewhere (another tab) ------------
  //
  // Where the function stands behind a WebSocket API (API Gateway's, or faasify local's)
  // and says so (X-Todo-Live: on), a socket to live?token=... hears {"changed": ...} when
  // a todo changes in another tab, and the list reloads. This tab names itself (X-Todo-Tab)
  // so that it is not told of its own changes. Elsewhere the page works as before.

  const TAB = Math.random().toString(36).slice(2, 12);
  let live = null;

  function listen() {
    if (live || !state.token || !("WebSocket" in window)) return;
    const query = `token=${encodeURIComponent(state.token)}&tab=${TAB}`;
    const url = new URL(`live?${query}`, location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(url);
    live = socket;
    socket.addEventListener("open", () => {
      document.body.dataset.live = "on";
    });
    socket.addEventListener("message", () => {
      if (state.token) loadFirstPage().catch(() => {});
    });
    socket.addEventListener("close", () => {
      if (live === socket) live = null;
      delete document.body.dataset.live;
    });
  }

  function stopListening() {
    if (live) live.close();
    live = null;
  }

  function renderList() {
    el.list.replaceChildren(...state.items.map(renderItem));
    el.empty.hidden = state.items.length > 0;
    el.loadMore.hidden = !state.next;
  }

  function itemNode(id) {
    return el.list.querySelector(`li[data-id="${CSS.escape(String(id))}"]`);
  }

  function renderItem(todo) {
    const li = document.createElement("li");
    li.className = "item";
    li.dataset.testid = "todo-item";
    li.dataset.id = String(todo.id);
    li.classList.toggle("done", Boolean(todo.done));

    const box = document.createElement("input");
    box.type = "checkbox";
    box.checked = Boolean(todo.done);
    box.dataset.testid = "todo-done";
    box.setAttribute("aria-label", `Done: ${todo.text}`);
    box.addEventListener("change", () => toggle(todo.id, box));

    const text = document.createElement("span");
    text.className = "text";
    text.dataset.testid = "todo-text";
    text.textContent = todo.text; // never innerHTML: the text is the user's
    text.addEventListener("dblclick", () => startEdit(todo.id));

    const edit = button("Edit", "todo-edit", `Edit: ${todo.text}`, () => startEdit(todo.id));
    const remove = button("Delete", "todo-delete", `Delete: ${todo.text}`, () =>
      removeTodo(todo.id, remove),
    );
    remove.classList.add("danger");

    const actions = document.createElement("span");
    actions.className = "actions";
    actions.append(edit, remove);
    li.append(box, text, actions);
    return li;
  }

  function button(label, testid, ariaLabel, onClick) {
    const node = document.createElement("button");
    node.type = "button";
    node.textContent = label;
    node.dataset.testid = testid;
    if (ariaLabel) node.setAttribute("aria-label", ariaLabel);
    node.addEventListener("click", onClick);
    return node;
  }

  function replaceItem(todo) {
    const index = state.items.findIndex((item) => item.id === todo.id);
    if (index >= 0) state.items[index] = todo;
    const node = itemNode(todo.id);
    if (node) node.replaceWith(renderItem(todo));
  }

  function forget(id) {
    state.items = state.items.filter((item) => item.id !== id);
    const node = itemNode(id);
    if (node) node.remove();
    el.empty.hidden = state.items.length > 0;
  }

  function updateCount() {
    const length = el.newText.value.length;
    const limit = maxLength();
    el.newTextCount.textContent = length ? `${length} / ${limit} characters` : "";
    el.newTextCount.classList.toggle("over", length > limit);
  }

  // -- actions --------------------------------------------------------------------------

  async function login(event) {
    event.preventDefault();
    const username = el.username.value.trim();
    if (!username) {
      say("Enter a username to sign in.");
      el.username.focus();
      return;
    }
    const submit = el.loginForm.querySelector("button");
    await act(async () => {
      state.token = null;
      const answer = await api("POST", "api/login", { username });
      state.token = answer.token;
      const user = answer.user || {};
      state.user = user.name || user.userid || username;
      if (user.stage) showStage(user.stage); // at once, not only after a reload
      localStorage.setItem(TOKEN_KEY, state.token);
      localStorage.setItem(USER_KEY, state.user);
      el.username.value = "";
      showApp();
      el.newText.focus();
      await loadFirstPage();
    }, submit);
  }

  function signOut(reason) {
    stopListening();
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(USER_KEY);
    state.token = null;
    state.user = "";
    state.items = [];
    state.next = null;
    renderList();
    el.retry.hidden = true;
    showLogin();
    if (reason) say(reason);
    else clearMessage();
  }

  async function loadFirstPage() {
    el.loading.hidden = false;
    el.retry.hidden = true;
    try {
      const page = await api("GET", `api/todos?limit=${pageSize}`);
      state.items = page.items;
      state.next = page.next || null;
      renderList();
    } catch (error) {
      el.retry.hidden = !(error instanceof ApiError) || error.status === 401;
      throw error;
    } finally {
      el.loading.hidden = true;
    }
  }

  async function loadMore() {
    await act(async () => {
      const cursor = encodeURIComponent(state.next);
      const page = await api("GET", `api/todos?limit=${pageSize}&cursor=${cursor}`);
      const seen = new Set(state.items.map((item) => item.id));
      state.items.push(...page.items.filter((item) => !seen.has(item.id)));
      state.next = page.next || null;
      renderList();
    }, el.loadMore);
  }

  async function add(event) {
    event.preventDefault();
    const text = el.newText.value.trim();
    const problem = invalidText(text);
    if (problem) {
      say(problem);
      el.newText.focus();
      return;
    }
    const submit = el.addForm.querySelector("button");
    const added = await act(async () => {
      const todo = await api("POST", "api/todos", { text });
      state.items = [todo, ...state.items.filter((item) => item.id !== todo.id)];
      renderList();
    }, submit);
    if (added) {
      el.newText.value = "";
      updateCount();
    }
    el.newText.focus();
  }

  async function toggle(id, box) {
    const wanted = box.checked;
    const saved = await act(
      async () => replaceItem(await api("PATCH", `api/todos/${id}`, { done: wanted })),
      box,
      (error) => goneElsewhere(id, error),
    );
    if (!saved) box.checked = !wanted; // the server said no: show the todo as it is
  }

  function startEdit(id) {
    const todo = state.items.find((item) => item.id === id);
    const node = itemNode(id);
    if (!todo || !node || node.classList.contains("editing")) return;
    clearMessage();
    node.classList.add("editing");
    const input = document.createElement("input");
    input.className = "edit";
    input.value = todo.text;
    input.dataset.testid = "todo-edit-input";
    input.setAttribute("aria-label", `New text for: ${todo.text}`);
    const save = button("Save", "todo-save", null, () => saveEdit(id, input, save));
    const cancel = button("Cancel", "todo-cancel", null, () => cancelEdit(id));
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        saveEdit(id, input, save);
      } else if (event.key === "Escape") {
        cancelEdit(id);
      }
    });
    const actions = document.createElement("span");
    actions.className = "actions";
    actions.append(save, cancel);
    node.querySelector(".text").replaceWith(input);
    node.querySelector(".actions").replaceWith(actions);
    input.focus();
    input.select();
  }

  /** Back to the todo as last known (it may have been ticked while being edited). */
  function cancelEdit(id) {
    const todo = state.items.find((item) => item.id === id);
    if (todo) replaceItem(todo);
  }

  async function saveEdit(id, input, save) {
    const text = input.value.trim();
    const problem = invalidText(text);
    if (problem) {
      say(problem);
      input.focus();
      return;
    }
    const todo = state.items.find((item) => item.id === id);
    if (todo && todo.text === text) {
      replaceItem(todo); // nothing changed: no request
      return;
    }
    await act(
      async () => replaceItem(await api("PATCH", `api/todos/${id}`, { text })),
      save,
      (error) => goneElsewhere(id, error),
    );
  }

  async function removeTodo(id, control) {
    await act(
      async () => {
        await api("DELETE", `api/todos/${id}`);
        forget(id);
        el.newText.focus(); // the focused button is gone with its todo
      },
      control,
      (error) => goneElsewhere(id, error),
    );
  }

  /** A 404 on a listed todo: it was deleted elsewhere; say so and stop showing it. */
  function goneElsewhere(id, error) {
    if (error.status !== 404) return false;
    forget(id);
    say("That todo no longer exists: it was deleted elsewhere. Nothing was changed.");
    return true;
  }

  /**
   * Downloads every todo as CSV. The answer streams (a page of rows at a time):
   * the rows are counted as they arrive, then saved as one file.
   */
  async function exportCsv() {
    const headers = { Accept: "text/csv, application/problem+json" };
    if (state.token) headers.Authorization = `Bearer ${state.token}`;
    let response;
    try {
      response = await fetch("api/todos/export.csv", { headers, cache: "no-store" });
    } catch (error) {
      throw new ApiError(0, "Could not reach the server. Check the connection and try again.");
    }
    if (!response.ok) {
      const data = await response.json().catch(() => null);
      throw new ApiError(response.status, describeFailure(response, data), data);
    }
    const reader = response.body.getReader();
    const parts = [];
    let lines = 0; // CSV rows end with CRLF (a text's own newlines are bare LFs or quoted)
    let carriage = false; // the last chunk ended with a CR
    for (;;) {
      let chunk;
      try {
        chunk = await reader.read();
      } catch (error) {
        el.exportProgress.textContent = "";
        throw new ApiError(0, "The export stopped before its end. Try again.");
      }
      if (chunk.done) break;
      parts.push(chunk.value);
      for (const byte of chunk.value) {
        if (byte === 10 && carriage) lines += 1;
        carriage = byte === 13;
      }
      el.exportProgress.textContent = `${Math.max(lines - 1, 0)} rows…`;
    }
    const rows = Math.max(lines - 1, 0);
    el.exportProgress.textContent = `${rows} ${rows === 1 ? "row" : "rows"} exported.`;
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob(parts, { type: "text/csv" }));
    link.download = "todos.csv";
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 0);
  }

  async function start() {
    el.loginForm.addEventListener("submit", login);
    el.addForm.addEventListener("submit", add);
    el.newText.addEventListener("input", updateCount);
    el.loadMore.addEventListener("click", loadMore);
    el.exportButton.addEventListener("click", () => act(exportCsv, el.exportButton));
    el.retryLoad.addEventListener("click", () => act(loadFirstPage, el.retryLoad));
    el.signOut.addEventListener("click", () => signOut());
    if (!state.token) {
      showLogin();
      return;
    }
    showApp();
    await act(async () => {
      const answer = await api("GET", "api/currentUser");
      const data = (answer && answer.data) || {};
      if (data.name) {
        state.user = data.name;
        el.currentUser.textContent = data.name;
      }
      if (data.stage) showStage(data.stage);
      await loadFirstPage();
    });
  }

  start();
})();
