// The tasks UI's behaviour: tokens, API calls and the forms of index.html (API.md §4, §7, §8).

// The refresh token survives a page reload in this tab only; the access token is never
// stored, so a script that reads storage finds at most the refresh token (README).
const REFRESH_KEY = "tasks-api.refresh_token";

const session = {
  accessToken: null,
  // One refresh at a time: requests that fail together wait for the same new token.
  refreshing: null,
};

const view = {
  page: 1,
  pages: 0,
  editing: null, // {id, etag} of the task in the edit form
};

const $ = (id) => document.getElementById(id);

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `The server answered ${status}.`);
    this.status = status;
    this.body = body || {};
  }
}

class SessionEnded extends Error {}

async function readJSON(response) {
  const type = response.headers.get("Content-Type") || "";
  if (!type.toLowerCase().startsWith("application/json")) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

function refreshToken() {
  return sessionStorage.getItem(REFRESH_KEY);
}

function forgetSession() {
  session.accessToken = null;
  sessionStorage.removeItem(REFRESH_KEY);
}

// A new access token from the refresh token, or false when the refresh token is refused.
function refreshAccess() {
  if (!session.refreshing) {
    session.refreshing = (async () => {
      const token = refreshToken();
      if (!token) return false;
      const response = await fetch("/api/auth/refresh", {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
      });
      if (!response.ok) return false;
      const body = await readJSON(response);
      session.accessToken = body.access_token;
      return true;
    })().finally(() => {
      session.refreshing = null;
    });
  }
  return session.refreshing;
}

function tokenRejected(response) {
  return response.status === 401 && /error="invalid_token"/.test(response.headers.get("WWW-Authenticate") || "");
}

// Calls the API with the access token. A token refused as invalid (expired, most often) is
// refreshed once and the request sent again; a second refusal ends the session.
async function api(method, path, { body, headers = {}, auth = true } = {}) {
  const send = () => {
    const all = { ...headers };
    if (body !== undefined) all["Content-Type"] = "application/json";
    if (auth && session.accessToken) all.Authorization = `Bearer ${session.accessToken}`;
    return fetch(path, { method, headers: all, body: body === undefined ? undefined : JSON.stringify(body) });
  };
  let response = await send();
  if (auth && tokenRejected(response)) {
    if (!(await refreshAccess())) throw new SessionEnded();
    response = await send();
    if (tokenRejected(response)) throw new SessionEnded();
  }
  const json = await readJSON(response);
  if (!response.ok && response.status !== 304) throw new ApiError(response.status, json);
  return { status: response.status, json, etag: response.headers.get("ETag") };
}

// --- Messages -------------------------------------------------------------------------

function show(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

function notice(text) {
  show($("notice"), text);
}

function status(text) {
  show($("status"), text);
}

function clearErrors(form) {
  for (const element of form.querySelectorAll("[data-error-for]")) show(element, "");
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

// Puts each message of the API's `errors` map beside its field; the rest above the form.
function showErrors(form, error) {
  clearErrors(form);
  const general = [];
  const fields = (error.body && error.body.errors) || {};
  for (const [name, messages] of Object.entries(fields)) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    const text = [].concat(messages).join(" ");
    if (slot && name !== "_form") {
      show(slot, text);
      const input = form.elements.namedItem(name);
      if (input) input.setAttribute("aria-invalid", "true");
    } else {
      general.push(name === "_schema" ? text : `${name}: ${text}`);
    }
  }
  if (Object.keys(fields).length === 0) general.push(describe(error));
  show(form.querySelector('[data-error-for="_form"]'), general.join(" "));
}

function describe(error) {
  if (error instanceof ApiError) {
    if (error.status === 429) {
      return `${error.message} Try again later.`;
    }
    return error.message;
  }
  if (error instanceof TypeError) return "The server cannot be reached.";
  return error.message;
}

// Runs an action of the UI; its failures end up as messages, never as uncaught errors. The
// form's buttons wait for it, so a second click cannot send the same task twice.
async function attempt(action, form) {
  const buttons = form ? [...form.querySelectorAll("button:not([disabled])")] : [];
  try {
    if (form) clearErrors(form);
    for (const button of buttons) button.disabled = true;
    await action();
  } catch (error) {
    if (error instanceof SessionEnded) {
      forgetSession();
      showSignedOut();
      notice("Your session has ended. Please log in again.");
    } else if (form) {
      showErrors(form, error);
    } else {
      notice(describe(error));
    }
  } finally {
    for (const button of buttons) button.disabled = false;
  }
}

// --- Accounts ---------------------------------------------------------------------------

function credentials(form) {
  return { username: form.elements.username.value, password: form.elements.password.value };
}

async function register(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await attempt(async () => {
    const { json } = await api("POST", "/api/auth/register", { body: credentials(form), auth: false });
    form.reset();
    $("login-username").value = json.username;
    $("login-password").focus();
    status(`Account ${json.username} created. Log in to continue.`);
  }, form);
}

async function login(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await attempt(async () => {
    const { json } = await api("POST", "/api/auth/login", { body: credentials(form), auth: false });
    session.accessToken = json.access_token;
    sessionStorage.setItem(REFRESH_KEY, json.refresh_token);
    form.reset();
    notice("");
    await showSignedIn();
  }, form);
}

// Revokes both tokens: the refresh token would otherwise mint access tokens for 30 days.
async function logout() {
  const tokens = [session.accessToken, refreshToken()].filter(Boolean);
  forgetSession();
  await Promise.allSettled(
    tokens.map((token) => fetch("/api/auth/logout", { method: "POST", headers: { Authorization: `Bearer ${token}` } })),
  );
  showSignedOut();
  status("You are logged out.");
}

function showSignedOut() {
  status("");
  $("who").hidden = true;
  $("tasks").hidden = true;
  $("auth").hidden = false;
  closeEdit();
  $("task-list").replaceChildren();
}

async function showSignedIn() {
  const { json } = await api("GET", "/api/users/me");
  $("who-name").textContent = json.username;
  $("who").hidden = false;
  $("auth").hidden = true;
  $("tasks").hidden = false;
  status("");
  view.page = 1;
  await loadTasks();
}

// --- The list ---------------------------------------------------------------------------

function listQuery() {
  const query = new URLSearchParams();
  const completed = $("filter-completed").value;
  const priority = $("filter-priority").value;
  if (completed) query.set("completed", completed);
  if (priority) query.set("priority", priority);
  query.set("sort", $("filter-sort").value);
  query.set("per_page", $("filter-per-page").value);
  query.set("page", String(view.page));
  return query;
}

async function loadTasks() {
  show($("list-error"), "");
  const { json } = await api("GET", `/api/tasks?${listQuery()}`);
  // A page emptied by deletes or filters: show the last one that has tasks.
  if (json.items.length === 0 && json.pages > 0 && view.page > json.pages) {
    view.page = json.pages;
    return loadTasks();
  }
  view.page = json.page;
  view.pages = json.pages;
  $("task-list").replaceChildren(...json.items.map(renderTask));
  $("empty").hidden = json.total > 0;
  $("page-info").textContent = json.pages > 0 ? `Page ${json.page} of ${json.pages} (${json.total} tasks)` : "";
  $("page-prev").disabled = json.page <= 1;
  $("page-next").disabled = json.page >= json.pages;
}

function renderTask(task) {
  const item = $("task-template").content.firstElementChild.cloneNode(true);
  item.dataset.id = String(task.id);
  item.classList.toggle("completed", task.completed);
  item.querySelector(".task-title").textContent = task.title;
  item.querySelector(".task-priority").textContent = `priority ${task.priority}`;
  item.querySelector(".task-priority").dataset.priority = String(task.priority);
  item.querySelector(".task-description").textContent = task.description;
  item.querySelector(".task-description").hidden = !task.description;
  const done = item.querySelector(".task-completed");
  done.checked = task.completed;
  done.addEventListener("change", () => attempt(() => setCompleted(task.id, done.checked)));
  item.querySelector(".task-edit").addEventListener("click", () => attempt(() => openEdit(task.id)));
  const confirm = item.querySelector(".task-confirm");
  const remove = item.querySelector(".task-delete");
  remove.addEventListener("click", () => {
    confirm.hidden = false;
    remove.hidden = true;
  });
  item.querySelector(".task-delete-no").addEventListener("click", () => {
    confirm.hidden = true;
    remove.hidden = false;
  });
  item.querySelector(".task-delete-yes").addEventListener("click", () => attempt(() => deleteTask(task.id)));
  return item;
}

async function createTask(event) {
  event.preventDefault();
  const form = event.currentTarget;
  await attempt(async () => {
    const body = { title: form.elements.title.value, description: form.elements.description.value };
    const priority = numberOrNull(form.elements.priority.value);
    if (priority !== null) body.priority = priority;
    const { json } = await api("POST", "/api/tasks", { body });
    form.reset();
    status(`Task ${json.id} added.`);
    await loadTasks();
  }, form);
}

// A list checkbox sets one field to the value the user chose, so it needs no If-Match: the
// edit form, which writes back everything the user saw, is the one that must not overwrite.
async function setCompleted(id, completed) {
  await api("PATCH", `/api/tasks/${id}`, { body: { completed } });
  status(completed ? `Task ${id} completed.` : `Task ${id} reopened.`);
  await loadTasks();
}

async function deleteTask(id) {
  await api("DELETE", `/api/tasks/${id}`);
  if (view.editing && view.editing.id === id) closeEdit();
  status(`Task ${id} deleted.`);
  await loadTasks();
}

// --- Editing ----------------------------------------------------------------------------

function numberOrNull(text) {
  return text.trim() === "" ? null : Number(text);
}

async function openEdit(id) {
  const form = $("edit-form");
  const { json, etag } = await api("GET", `/api/tasks/${id}`);
  view.editing = { id, etag };
  clearErrors(form);
  $("conflict").hidden = true;
  $("edit-id").textContent = `#${id}`;
  form.elements.title.value = json.title;
  form.elements.description.value = json.description;
  form.elements.priority.value = String(json.priority);
  form.elements.completed.checked = json.completed;
  form.hidden = false;
  form.elements.title.focus();
}

function closeEdit() {
  view.editing = null;
  $("edit-form").hidden = true;
  $("conflict").hidden = true;
}

async function saveEdit(event) {
  event.preventDefault();
  const form = event.currentTarget;
  if (!view.editing) return;
  const { id, etag } = view.editing;
  $("conflict").hidden = true;
  await attempt(async () => {
    const body = {
      title: form.elements.title.value,
      description: form.elements.description.value,
      priority: numberOrNull(form.elements.priority.value),
      completed: form.elements.completed.checked,
    };
    try {
      await api("PATCH", `/api/tasks/${id}`, { body, headers: { "If-Match": etag } });
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        $("conflict").hidden = false;
        return;
      }
      if (error instanceof ApiError && error.status === 404) {
        closeEdit();
        status(`Task ${id} no longer exists.`);
        await loadTasks();
        return;
      }
      throw error;
    }
    closeEdit();
    status(`Task ${id} saved.`);
    await loadTasks();
  }, form);
}

// --- Start ------------------------------------------------------------------------------

// A message goes once its field is edited; the others stay until the next answer.
function clearFieldErrorOnInput(form) {
  form.addEventListener("input", (event) => {
    const name = event.target.name;
    if (!name) return;
    const slot = form.querySelector(`[data-error-for="${CSS.escape(name)}"]`);
    if (slot) show(slot, "");
    event.target.removeAttribute("aria-invalid");
  });
}

function wire() {
  for (const id of ["register-form", "login-form", "create-form", "edit-form"]) clearFieldErrorOnInput($(id));
  $("register-form").addEventListener("submit", register);
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => attempt(logout));
  $("create-form").addEventListener("submit", createTask);
  $("edit-form").addEventListener("submit", saveEdit);
  $("edit-cancel").addEventListener("click", closeEdit);
  $("conflict-reload").addEventListener("click", () =>
    attempt(async () => {
      const { id } = view.editing;
      await openEdit(id);
      status(`Task ${id} reloaded; your edits were discarded.`);
      await loadTasks();
    }, $("edit-form")),
  );
  $("filter-form").addEventListener("change", () => {
    view.page = 1;
    attempt(loadTasks);
  });
  $("filter-form").addEventListener("submit", (event) => event.preventDefault());
  $("refresh-list").addEventListener("click", () => attempt(loadTasks));
  $("page-prev").addEventListener("click", () => {
    view.page = Math.max(1, view.page - 1);
    attempt(loadTasks);
  });
  $("page-next").addEventListener("click", () => {
    view.page += 1;
    attempt(loadTasks);
  });
}

async function start() {
  wire();
  // A reload of the tab keeps the session: the refresh token mints a new access token.
  if (refreshToken() && (await refreshAccess().catch(() => false))) {
    await attempt(showSignedIn);
    if (!$("tasks").hidden) return;
  }
  forgetSession();
  showSignedOut();
}

start();
