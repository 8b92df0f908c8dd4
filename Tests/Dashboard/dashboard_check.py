#!/usr/bin/env python3
"""The dashboard in a real browser: Debian's chromium, headless, driven by selenium through
Debian's chromedriver (no driver download: both paths are given).

Run by Tests/IntegrationTests/DashboardBrowserTests.swift against a worker that runs the file
pipeline `lines-in` (a file source reading --source into topic `lines`) and `lines-out` (a file
sink) with a 1 s sample interval. Checks, in order:

  1. the page loads and its script goes live;
  2. both connectors show RUNNING;
  3. after lines are appended to the source file, the source's records/s chart draws a rate
     above zero (its SVG's data-max and path change);
  4. the record browser shows one of those lines as a record's value;
  5. Pause makes lines-in PAUSED on the page and in GET /connectors/lines-in/status, and Resume
     makes it RUNNING again in both;
  6. the browser's console has no error (a failed request, a script error, a CSP violation);

and saves a screenshot of the whole page (--screenshot). Prints one `ok`/`not ok` line per
check and `N passed, N failed`; exits 1 when a check failed.
"""
import argparse
import base64
import json
import sys
import time
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


class Check:
    def __init__(self):
        self.passed = 0
        self.failed = 0

    def __call__(self, name, condition, detail=""):
        if condition:
            self.passed += 1
            print(f"ok - {name}", flush=True)
        else:
            self.failed += 1
            print(f"not ok - {name}{': ' + detail if detail else ''}", flush=True)
        return condition


def wait_for(predicate, timeout=20.0, interval=0.2):
    """The predicate's first truthy value within `timeout` seconds, else its last value."""
    deadline = time.monotonic() + timeout
    value = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except Exception:  # an element replaced while read: try again
            value = None
        if value:
            return value
        time.sleep(interval)
    return value


def browser(authorization):
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    # As root in a container: no sandbox, no GPU, no /dev/shm (often 64 MB there).
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1000", "--lang=en-US"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    if authorization:
        # What the browser's own prompt would do: send the credentials with every request.
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders",
                               {"headers": {"Authorization": authorization}})
    return driver


def rest_state(api, connector, authorization):
    request = urllib.request.Request(f"{api}/connectors/{connector}/status")
    request.add_header("Accept", "application/json")
    if authorization:
        request.add_header("Authorization", authorization)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["connector"]["state"]


def text_of(driver, selector):
    """The text of the first element matching `selector`, "" when there is none.

    Read inside the page in one script turn: the table is redrawn every few seconds, so an
    element found by one WebDriver call can be gone (stale) by the next.
    """
    return driver.execute_script(
        "const e = document.querySelector(arguments[0]); return e ? e.innerText.trim() : ''",
        selector)


def page_state(driver, connector):
    return text_of(driver, f'tr.connector[data-connector="{connector}"] [data-role="state"]')


def chart(driver, connector):
    """The throughput sparkline's data attributes and line, read in one script turn."""
    return driver.execute_script("""
        const svg = document.querySelector(arguments[0]);
        if (!svg) return {points: 0, last: 0, max: 0, path: ""};
        const line = svg.querySelector("path.line");
        return {
            points: Number(svg.getAttribute("data-points") || 0),
            last: Number(svg.getAttribute("data-last") || 0),
            max: Number(svg.getAttribute("data-max") || 0),
            path: line ? line.getAttribute("d") : "",
        };""", f'tr.connector[data-connector="{connector}"] svg[data-series="throughput"]')


def click(driver, selector):
    # The table is redrawn every few seconds: find the button afresh and click it at once.
    wait_for(lambda: driver.find_element(By.CSS_SELECTOR, selector).is_displayed(), 10)
    driver.execute_script(
        "document.querySelector(arguments[0]).click()", selector)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--api", required=True, help="the worker's admin API, http://host:port")
    parser.add_argument("--source", required=True, help="the file source lines-in reads")
    parser.add_argument("--screenshot", required=True)
    parser.add_argument("--basic", help="user:password when the API asks for basic auth")
    parser.add_argument("--path", default="/ui", help="the page: /ui, or / (negotiated)")
    args = parser.parse_args()
    authorization = None
    if args.basic:
        authorization = "Basic " + base64.b64encode(args.basic.encode()).decode()

    check = Check()
    driver = browser(authorization)
    try:
        driver.get(args.api + args.path)
        live = wait_for(lambda: driver.find_element(By.ID, "live").get_attribute("data-state") == "live")
        check("the page loads and its script goes live", live,
              driver.find_element(By.ID, "live").text)
        check("the header names the worker", driver.find_element(By.ID, "worker-id").text.strip() != "")

        for name in ("lines-in", "lines-out"):
            state = wait_for(lambda: page_state(driver, name) == "RUNNING" and "RUNNING")
            check(f"{name} shows RUNNING", state == "RUNNING", page_state(driver, name))

        before = chart(driver, "lines-in")
        marker = f"dashboard-line-{int(time.time())}"
        # In batches over a few seconds, so the chart shows a plateau rather than one spike.
        for batch in range(6):
            with open(args.source, "a", encoding="utf-8") as source:
                for i in range(batch * 50 + 1, batch * 50 + 51):
                    source.write(f"{marker} {i}\n")
            time.sleep(0.8)
        after = wait_for(lambda: (lambda c: c if c["max"] > 0 and c["path"] != before["path"] else None)(
            chart(driver, "lines-in")), timeout=30)
        check("the records/s chart draws the new records", bool(after),
              f"before {before}, after {chart(driver, 'lines-in')}")
        rate = text_of(driver, 'tr.connector[data-connector="lines-in"] [data-role="rate"]')
        check("the table shows a rate", rate not in ("", "—"), rate)

        # The record browser: the newest records of `lines`, one of them ours.
        wait_for(lambda: driver.find_element(By.CSS_SELECTOR, 'tr[data-topic="lines"]'), 20)
        def newest_value():
            click(driver, 'button[data-action="browse"][data-topic="lines"]')
            return wait_for(lambda: marker in driver.execute_script(
                "return [...document.querySelectorAll('#records pre[data-role=\"value\"]')]"
                ".map(e => e.innerText).join('\\n')"), 5)
        shown = wait_for(newest_value, timeout=30, interval=0.5)
        check("the record browser shows a record's value", shown,
              text_of(driver, "#records")[:300])

        click(driver, 'button[data-action="pause"][data-connector="lines-in"]')
        paused = wait_for(lambda: page_state(driver, "lines-in") == "PAUSED")
        check("Pause makes lines-in PAUSED on the page", paused, page_state(driver, "lines-in"))
        check("and in its REST status", rest_state(args.api, "lines-in", authorization) == "PAUSED",
              rest_state(args.api, "lines-in", authorization))

        click(driver, 'button[data-action="resume"][data-connector="lines-in"]')
        running = wait_for(lambda: page_state(driver, "lines-in") == "RUNNING")
        check("Resume makes lines-in RUNNING on the page", running, page_state(driver, "lines-in"))
        check("and in its REST status", rest_state(args.api, "lines-in", authorization) == "RUNNING",
              rest_state(args.api, "lines-in", authorization))

        # Details open for the screenshot: tasks, their status details, dead letters.
        click(driver, 'button[data-action="toggle"][data-connector="lines-out"]')
        wait_for(lambda: driver.find_element(
            By.CSS_SELECTOR, 'tr.details[data-details-for="lines-out"]').is_displayed(), 5)
        time.sleep(1)

        errors = [entry for entry in driver.get_log("browser") if entry.get("level") == "SEVERE"]
        check("the browser console has no errors", not errors,
              "; ".join(entry.get("message", "") for entry in errors))

        # The whole page: grow the window to the document's height (twice, as the first
        # resize can reflow it), from the top.
        for _ in range(2):
            height = driver.execute_script("return document.documentElement.scrollHeight")
            driver.set_window_size(1400, max(1000, int(height) + 120))
            time.sleep(0.3)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(args.screenshot)
        print(f"screenshot: {args.screenshot}", flush=True)
    finally:
        driver.quit()

    print(f"{check.passed} passed, {check.failed} failed", flush=True)
    return 1 if check.failed else 0


if __name__ == "__main__":
    sys.exit(main())
