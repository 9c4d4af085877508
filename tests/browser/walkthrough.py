#!/usr/bin/env python3
# The tasks UI driven in headless Chromium through nginx, step by step, with a screenshot of each step.
"""Walks through /app/ as a user would and checks /docs lists every operation.

Run by scripts/check-browser, which starts the pool and nginx and passes:

    walkthrough.py --base URL --out DIR --access-log FILE --token-lifetime SECONDS --routes FILE

Every step writes DIR/NN-step.png. Any SEVERE browser console entry fails the run (CSP
violations are reported there), except the failed-request entries Chromium writes for the
HTTP errors a step provokes on purpose (a 400 for the validation step, a 412 for the
conflict) and the 401 of an expired access token, which the UI answers by refreshing it.
"""

import argparse
import http.client
import json
import os
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
USERNAME = "walker"
PASSWORD = "a walk in the browser"
WAIT = 30  # seconds: generous, the machine may be loaded; waits end as soon as the state shows
FAILED_REQUEST = re.compile(r"^(\S+) - Failed to load resource: the server responded with a status of (\d+)")


class Failure(Exception):
    pass


def check(condition, what):
    if not condition:
        raise Failure(what)


# --- The API, directly (the "other client" of the conflict step, and the checks) --------


def request(base, method, path, body=None, token=None, headers=None):
    all_headers = dict(headers or {})
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        all_headers["Content-Type"] = "application/json"
    if token:
        all_headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, data=data, method=method, headers=all_headers)
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as response:
            return response.status, response.headers, parsed(response.headers, response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, parsed(error.headers, error.read())


def parsed(headers, raw):
    return json.loads(raw) if raw and headers.get("Content-Type", "").startswith("application/json") else None


def api_token(base):
    status, _, body = request(base, "POST", "/api/auth/login", {"username": USERNAME, "password": PASSWORD})
    check(status == 200, f"the API login answered {status}")
    return body["access_token"]


def task_titled(base, title):
    token = api_token(base)
    status, _, body = request(base, "GET", "/api/tasks?per_page=100", token=token)
    check(status == 200, f"GET /api/tasks answered {status}")
    matches = [task for task in body["items"] if task["title"] == title]
    check(len(matches) == 1, f"expected one task titled {title!r}, found {len(matches)}")
    return matches[0]


# --- The browser ----------------------------------------------------------------------


class Walk:
    def __init__(self, args):
        self.args = args
        self.base = args.base
        self.steps = 0
        options = webdriver.ChromeOptions()
        options.binary_location = args.chromium
        # Chromium refuses to run as root with its sandbox on.
        if os.geteuid() == 0:
            options.add_argument("--no-sandbox")
        for flag in ("--headless=new", "--disable-dev-shm-usage", "--window-size=1100,1700",
                     "--no-first-run", "--disable-extensions", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-default-apps"):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=args.chromedriver), options=options)
        self.console_errors = []

    def quit(self):
        self.driver.quit()

    # The console since the last call; `expected` statuses of failed requests are allowed.
    def console(self, expected=()):
        unexpected = []
        for entry in self.driver.get_log("browser"):
            if entry["level"] != "SEVERE":
                continue
            failed = FAILED_REQUEST.match(entry["message"])
            if failed and entry["source"] == "network":
                url, status = failed.group(1), int(failed.group(2))
                if status in expected or (status == 401 and "/api/" in url):
                    continue
            unexpected.append(entry["message"])
        self.console_errors += unexpected
        return unexpected

    def step(self, name, expected=()):
        self.steps += 1
        path = f"{self.args.out}/{self.steps:02d}-{name}.png"
        self.driver.save_screenshot(path)
        errors = self.console(expected)
        check(not errors, f"step {name}: browser console errors: {errors}")
        print(f"walkthrough: {self.steps:02d} {name} ok ({path})", flush=True)

    def wait(self, condition, what):
        try:
            # The list is re-rendered after each change: an element found a moment ago may be gone.
            return WebDriverWait(
                self.driver, WAIT, poll_frequency=0.1,
                ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
            ).until(lambda driver: condition())
        except Exception as error:  # selenium's TimeoutException
            raise Failure(f"timed out waiting for {what}: {error.__class__.__name__}") from None

    def find(self, css):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def visible_text(self, css):
        elements = self.driver.find_elements(By.CSS_SELECTOR, css)
        return elements[0].text if elements and elements[0].is_displayed() else ""

    def fill(self, css, text):
        element = self.find(css)
        element.clear()
        element.send_keys(text)

    def task_item(self, title):
        for item in self.driver.find_elements(By.CSS_SELECTOR, "#task-list li.task"):
            if item.find_element(By.CSS_SELECTOR, ".task-title").text == title:
                return item
        return None

    def list_titles(self):
        return [e.text for e in self.driver.find_elements(By.CSS_SELECTOR, "#task-list .task-title")]

    def status_says(self, text):
        return text in self.visible_text("#status")

    def click_and_wait_status(self, css, text):
        self.find(css).click()
        self.wait(lambda: self.status_says(text), f"the status {text!r}")


# --- Steps ------------------------------------------------------------------------------


def check_headers(base):
    status, headers, _ = request(base, "GET", "/app/")
    check(status == 200, f"GET /app/ answered {status}")
    check(headers.get("Content-Security-Policy") == CSP, f"/app/ CSP is {headers.get('Content-Security-Policy')!r}")
    check(headers.get("X-Content-Type-Options") == "nosniff", "/app/ lacks nosniff")
    check(headers.get("Cache-Control") == "no-cache", f"/app/ Cache-Control is {headers.get('Cache-Control')!r}")
    check(headers.get("Content-Type", "").startswith("text/html"), "/app/ is not text/html")
    for name, media_type in (("app.js", "application/javascript"), ("app.css", "text/css")):
        status, headers, _ = request(base, "GET", f"/app/{name}")
        check(status == 200, f"GET /app/{name} answered {status}")
        check(headers.get("Content-Type", "").startswith(media_type), f"/app/{name} is {headers.get('Content-Type')}")
        check(headers.get("Cache-Control") == "no-cache", f"/app/{name} Cache-Control is {headers.get('Cache-Control')}")
        check(headers.get("X-Content-Type-Options") == "nosniff", f"/app/{name} lacks nosniff")
    status, _, _ = request(base, "GET", "/static/app/index.html")
    check(status == 404, f"the UI is also served without its CSP under /static/app/ ({status})")
    connection = http.client.HTTPConnection(urllib.parse.urlsplit(base).netloc, timeout=WAIT)
    connection.request("GET", "/app")
    response = connection.getresponse()
    check(response.status == 301 and response.getheader("Location") == "/app/",
          f"/app answered {response.status} to {response.getheader('Location')}")
    connection.close()
    print("walkthrough: headers of /app/ ok (CSP, nosniff, Cache-Control; /app redirects; not under /static/)",
          flush=True)


# The CSP is enforced and its violations reach the console check: an inline script is refused.
def check_csp_enforced(walk):
    walk.driver.get(walk.base + "/app/")
    walk.wait(lambda: walk.find("#auth").is_displayed(), "the login form")
    walk.console()
    walk.driver.execute_script(
        "const s = document.createElement('script'); s.textContent = 'window.inlineRan = true';"
        "document.head.appendChild(s);")
    check(walk.driver.execute_script("return window.inlineRan === undefined"), "an inline script ran")
    errors = walk.wait(lambda: walk.console(), "the CSP violation in the console")
    check(any("Content Security Policy" in e for e in errors), f"no CSP violation reported: {errors}")
    walk.console_errors.clear()
    print("walkthrough: CSP enforced (an inline script was refused and reported)", flush=True)


def register(walk):
    walk.fill("#register-username", USERNAME)
    walk.fill("#register-password", PASSWORD)
    walk.click_and_wait_status("#register-form button[type=submit]", f"Account {USERNAME} created")
    check(walk.find("#login-username").get_attribute("value") == USERNAME, "login username not prefilled")
    walk.step("register")


def log_in(walk, name="log-in", tasks=0):
    walk.fill("#login-username", USERNAME)
    walk.fill("#login-password", PASSWORD)
    walk.find("#login-form button[type=submit]").click()
    walk.wait(lambda: walk.visible_text("#who-name") == USERNAME, "the signed-in user's name")
    if tasks == 0:
        walk.wait(lambda: walk.find("#empty").is_displayed(), "the empty list")
    else:
        walk.wait(lambda: len(walk.list_titles()) == tasks, f"the list of {tasks} tasks")
    check(walk.visible_text("#notice") == "", f"a notice after login: {walk.visible_text('#notice')!r}")
    storage = walk.driver.execute_script(
        "return [sessionStorage.length, sessionStorage.getItem('tasks-api.refresh_token'), localStorage.length,"
        " document.cookie]")
    check(storage[0] == 1 and storage[1], "the refresh token is not in sessionStorage (alone)")
    check(storage[2] == 0 and storage[3] == "", "something was stored in localStorage or a cookie")
    walk.step(name)


def create_task(walk):
    walk.fill("#create-title", "Write the report")
    walk.fill("#create-description", "Two pages, with the figures.")
    walk.fill("#create-priority", "4")
    # A double click: the form's button waits for the first request, so one task is created.
    walk.driver.execute_script("const b = arguments[0]; b.click(); b.click();",
                               walk.find("#create-form button[type=submit]"))
    walk.wait(lambda: walk.task_item("Write the report") is not None, "the new task in the list")
    task = task_titled(walk.base, "Write the report")  # exactly one
    check(task["priority"] == 4 and task["description"] == "Two pages, with the figures.", f"stored as {task}")
    walk.step("create-task")


def validation_error(walk):
    walk.fill("#create-title", "")
    walk.fill("#create-priority", "9")
    walk.find("#create-form button[type=submit]").click()
    walk.wait(lambda: walk.visible_text("#create-title-error"), "the title's message")
    check(walk.visible_text("#create-title-error") == "Length must be between 1 and 100.",
          f"title message: {walk.visible_text('#create-title-error')!r}")
    check(walk.visible_text("#create-priority-error")
          == "Must be greater than or equal to 1 and less than or equal to 5.",
          f"priority message: {walk.visible_text('#create-priority-error')!r}")
    check(walk.find("#create-title").get_attribute("aria-invalid") == "true", "title not marked invalid")
    check(walk.visible_text("#create-description-error") == "", "a message beside the valid description")
    # Beside its field: the message is the element right after the input it describes.
    follows = walk.driver.execute_script(
        "return document.getElementById('create-title').nextElementSibling.id")
    check(follows == "create-title-error", f"the title's message is not beside it ({follows})")
    walk.step("validation-error", expected=(400,))
    walk.fill("#create-priority", "3")
    walk.wait(lambda: walk.visible_text("#create-priority-error") == "", "the corrected field's message gone")
    check(walk.find("#create-priority").get_attribute("aria-invalid") is None, "priority still marked invalid")
    check(walk.visible_text("#create-title-error") != "", "the title's message went with the priority's")


def complete_task(walk):
    walk.task_item("Write the report").find_element(By.CSS_SELECTOR, ".task-completed").click()
    walk.wait(lambda: "completed" in (walk.task_item("Write the report").get_attribute("class") or ""),
              "the task shown as completed")
    check(task_titled(walk.base, "Write the report")["completed"] is True, "the task is not completed in the API")
    walk.step("complete-task")


def list_pages_filters_sort(walk):
    token = api_token(walk.base)
    for n, priority in zip(range(1, 7), (1, 5, 2, 3, 2, 1)):
        status, _, _ = request(walk.base, "POST", "/api/tasks", {"title": f"Errand {n}", "priority": priority},
                               token=token)
        check(status == 201, f"creating errand {n} answered {status}")
    Select(walk.find("#filter-per-page")).select_by_visible_text("5")
    walk.wait(lambda: walk.visible_text("#page-info") == "Page 1 of 2 (7 tasks)", "page 1 of 2")
    check(len(walk.list_titles()) == 5, f"page 1 shows {walk.list_titles()}")
    walk.find("#page-next").click()
    walk.wait(lambda: walk.visible_text("#page-info").startswith("Page 2 of 2"), "page 2")
    check(walk.list_titles() == ["Errand 1", "Write the report"], f"page 2 shows {walk.list_titles()}")
    check(walk.find("#page-next").get_attribute("disabled") is not None, "next is enabled on the last page")
    Select(walk.find("#filter-per-page")).select_by_visible_text("10")
    Select(walk.find("#filter-sort")).select_by_value("-priority")
    walk.wait(lambda: len(walk.list_titles()) == 7 and walk.list_titles()[0] == "Errand 2", "sorted by priority")
    priorities = [int(e.get_attribute("data-priority"))
                  for e in walk.driver.find_elements(By.CSS_SELECTOR, "#task-list .task-priority")]
    check(priorities == sorted(priorities, reverse=True), f"not sorted by priority: {priorities}")
    Select(walk.find("#filter-completed")).select_by_value("true")
    walk.wait(lambda: walk.list_titles() == ["Write the report"], "only the completed task")
    Select(walk.find("#filter-completed")).select_by_value("false")
    Select(walk.find("#filter-priority")).select_by_visible_text("2")
    walk.wait(lambda: sorted(walk.list_titles()) == ["Errand 3", "Errand 5"], "open tasks of priority 2")
    walk.step("list-pages-filters-sort")
    Select(walk.find("#filter-priority")).select_by_value("")
    Select(walk.find("#filter-completed")).select_by_value("")
    walk.wait(lambda: len(walk.list_titles()) == 7, "the whole list again")


def conflict(walk):
    walk.task_item("Write the report").find_element(By.CSS_SELECTOR, ".task-edit").click()
    walk.wait(lambda: walk.find("#edit-form").is_displayed(), "the edit form")
    check(walk.find("#edit-title").get_attribute("value") == "Write the report", "the edit form's title")
    # Another client changes the task after the form was filled in.
    task = task_titled(walk.base, "Write the report")
    status, _, _ = request(walk.base, "PATCH", f"/api/tasks/{task['id']}", {"title": "Write the final report"},
                           token=api_token(walk.base))
    check(status == 200, f"the API's PATCH answered {status}")
    walk.fill("#edit-title", "Write the short report")
    walk.find("#edit-form button[type=submit]").click()
    walk.wait(lambda: walk.find("#conflict").is_displayed(), "the conflict message")
    check("changed elsewhere" in walk.find("#conflict").text, "the conflict message text")
    check(walk.find("#conflict-reload").is_displayed(), "the offer to reload")
    check(task_titled(walk.base, "Write the final report")["id"] == task["id"], "the stale edit overwrote")
    walk.step("conflict", expected=(412,))
    walk.click_and_wait_status("#conflict-reload", "reloaded")
    check(walk.find("#edit-title").get_attribute("value") == "Write the final report", "the reloaded title")
    check(not walk.find("#conflict").is_displayed(), "the conflict message stays after the reload")
    walk.fill("#edit-priority", "5")
    walk.click_and_wait_status("#edit-form button[type=submit]", "saved")
    check(task_titled(walk.base, "Write the final report")["priority"] == 5, "the edit after the reload")
    walk.step("conflict-reloaded-and-saved")


def last_token_issue(log_path):
    issued = None
    with open(log_path) as log:
        for line in log:
            entry = json.loads(line)
            if entry["uri"] in ("/api/auth/login", "/api/auth/refresh") and entry["status"] == 200:
                issued = entry
    return issued


# Waits until the access token last issued (by a login or a refresh, in nginx's access log)
# has expired; answers the log's length then, to read what follows.
def wait_for_expiry(walk):
    issued = last_token_issue(walk.args.access_log)
    check(issued is not None, "no token issue in the access log")
    issued_at = datetime.fromisoformat(issued["time"]).timestamp()
    # The token's expiry is the event: its time is known from the log line that issued it.
    walk.wait(lambda: time.time() > issued_at + walk.args.token_lifetime + 1.5, "the access token's expiry")
    with open(walk.args.access_log) as log:
        return len(log.read())


# The access token expires (the pool runs with a short lifetime); the next call refreshes it once.
def token_refresh(walk):
    offset = wait_for_expiry(walk)
    walk.find("#refresh-list").click()
    walk.wait(lambda: tasks_get_after_refresh(walk.args.access_log, offset), "a refresh and the retried request")
    walk.wait(lambda: len(walk.list_titles()) == 7, "the list after the refresh")
    check(walk.visible_text("#who-name") == USERNAME, "signed out by an expired token")
    walk.step("token-refreshed")


# The refresh token revoked elsewhere: once the access token expires, the page asks to log in.
def session_ended(walk):
    refresh = walk.driver.execute_script("return sessionStorage.getItem('tasks-api.refresh_token')")
    status, _, _ = request(walk.base, "POST", "/api/auth/logout", token=refresh)
    check(status == 204, f"revoking the refresh token answered {status}")
    wait_for_expiry(walk)
    walk.find("#refresh-list").click()
    walk.wait(lambda: walk.find("#auth").is_displayed(), "the login form")
    check(walk.visible_text("#notice") == "Your session has ended. Please log in again.",
          f"the notice: {walk.visible_text('#notice')!r}")
    check(not walk.find("#tasks").is_displayed(), "the tasks still shown")
    check(walk.driver.execute_script("return sessionStorage.length") == 0, "sessionStorage not cleared")
    walk.step("session-ended")
    log_in(walk, "log-in-again", tasks=6)


def tasks_get_after_refresh(log_path, offset):
    with open(log_path) as log:
        log.seek(offset)
        entries = [json.loads(line) for line in log if line.strip()]
    seen = [(e["method"], e["uri"].split("?")[0], e["status"]) for e in entries if e["uri"].startswith("/api/")]
    wanted = [("GET", "/api/tasks", 401), ("POST", "/api/auth/refresh", 200), ("GET", "/api/tasks", 200)]
    return seen[:3] == wanted


def page_reload(walk):
    walk.driver.refresh()
    walk.wait(lambda: walk.visible_text("#who-name") == USERNAME, "signed in again after a reload")
    walk.wait(lambda: len(walk.list_titles()) == 7, "the list after a reload")
    walk.step("reload-keeps-session")


def delete_task(walk):
    task = task_titled(walk.base, "Errand 6")
    walk.task_item("Errand 6").find_element(By.CSS_SELECTOR, ".task-delete").click()
    walk.wait(lambda: walk.task_item("Errand 6").find_element(By.CSS_SELECTOR, ".task-confirm").is_displayed(),
              "the delete confirmation")
    walk.step("delete-confirm")
    walk.task_item("Errand 6").find_element(By.CSS_SELECTOR, ".task-delete-yes").click()
    walk.wait(lambda: walk.task_item("Errand 6") is None, "the task gone from the list")
    status, _, _ = request(walk.base, "GET", f"/api/tasks/{task['id']}", token=api_token(walk.base))
    check(status == 404, f"the deleted task answers {status}")
    walk.step("delete-task")


def log_out(walk):
    refresh = walk.driver.execute_script("return sessionStorage.getItem('tasks-api.refresh_token')")
    check(bool(refresh), "no refresh token before logout")
    walk.click_and_wait_status("#logout", "logged out")
    check(walk.find("#auth").is_displayed() and not walk.find("#tasks").is_displayed(), "still showing tasks")
    check(walk.driver.execute_script("return sessionStorage.length") == 0, "sessionStorage not cleared")
    status, _, _ = request(walk.base, "POST", "/api/auth/refresh", token=refresh)
    check(status == 401, f"the logged-out refresh token still answers {status}")
    walk.step("log-out")
    walk.driver.refresh()
    walk.wait(lambda: walk.find("#auth").is_displayed(), "the login form after a reload")
    check(not walk.find("#tasks").is_displayed(), "signed in again after logout and a reload")


def operations_of_document(base):
    status, _, document = request(base, "GET", "/openapi.json")
    check(status == 200, f"/openapi.json answered {status}")
    methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
    return {(method.upper(), path) for path, item in document["paths"].items() for method in item if method in methods}


def operations_of_routes(routes_file):
    operations = set()
    with open(routes_file) as table:
        for line in table.read().splitlines()[2:]:
            method, path = line.split()[:2]
            operations.add((method, re.sub(r"\{(\w+):\w+\}", r"{\1}", path)))
    return operations


# /docs is the offline Swagger UI when its page loads from /static/docs/: every operation of the
# document must show as an `.opblock`. Until then the document itself is checked against the
# route table, and the CDN page is not opened (offline, it could only log errors).
def docs(walk):
    expected = operations_of_document(walk.base)
    check(len(expected) > 10, f"the document lists only {len(expected)} operations")
    with urllib.request.urlopen(walk.base + "/docs", timeout=WAIT) as response:
        check(response.status == 200, f"/docs answered {response.status}")
        page = response.read().decode()
    if "/static/docs/" in page:
        walk.driver.get(walk.base + "/docs")
        walk.wait(lambda: walk.driver.find_elements(By.CSS_SELECTOR, ".opblock-tag, .opblock"), "Swagger UI")
        # Tags configured to start collapsed render no operations: open each one.
        for tag in walk.driver.find_elements(By.CSS_SELECTOR, ".opblock-tag-section:not(.is-open) .opblock-tag"):
            tag.click()
        read = ("return Array.from(document.querySelectorAll('.opblock')).map(b => ["
                "b.querySelector('.opblock-summary-method').textContent.trim(),"
                "b.querySelector('.opblock-summary-path').getAttribute('data-path')])")
        walk.wait(lambda: len(walk.driver.execute_script(read)) >= len(expected), "every operation in Swagger UI")
        shown = {(method.upper(), path) for method, path in walk.driver.execute_script(read)}
        check(shown == expected, f"/docs differs from the document: missing {expected - shown}, extra {shown - expected}")
        walk.step("docs")
        print(f"walkthrough: /docs (Swagger UI) lists all {len(expected)} operations", flush=True)
    else:
        routes = operations_of_routes(walk.args.routes)
        check(routes == expected, f"the document differs from the routes: missing {routes - expected}, "
              f"extra {expected - routes}")
        walk.steps += 1
        print(f"walkthrough: {walk.steps:02d} docs ok: /docs is not the offline Swagger UI yet; /openapi.json "
              f"lists all {len(expected)} operations of `tasks-api routes`", flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--access-log", required=True)
    parser.add_argument("--token-lifetime", type=int, required=True)
    parser.add_argument("--routes", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--chromedriver", default="/usr/bin/chromedriver")
    args = parser.parse_args()

    check_headers(args.base)
    walk = Walk(args)
    try:
        check_csp_enforced(walk)
        for step in (register, log_in, create_task, validation_error, complete_task, list_pages_filters_sort,
                     conflict, token_refresh, page_reload, delete_task, session_ended, log_out, docs):
            step(walk)
        walk.console()
        check(not walk.console_errors, f"browser console errors: {walk.console_errors}")
    except Failure as failure:
        try:
            walk.driver.save_screenshot(f"{args.out}/failed.png")
        except Exception:
            pass
        print(f"walkthrough: FAIL after {walk.steps} steps: {failure} (screenshot {args.out}/failed.png)",
              file=sys.stderr)
        return 1
    finally:
        walk.quit()
    print(f"walkthrough: {walk.steps} steps passed, no browser console errors; screenshots in {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
