"""A real browser (headless Chromium via Selenium) on ``cohesio serve`` over the real build:
home → language switch → search "épicerie" → Arles → the Veynes example's quality flag → SPARQL link.
A screenshot is saved under test-artifacts/."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import ld_support  # noqa: E402

CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = ld_support.ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def real_server(tmp_path_factory):
    store = ld_support.real_store(tmp_path_factory)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cwd = tmp_path_factory.mktemp("browser-server")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COHESIO_")}
    env["COHESIO_PROJECT_DIR"] = str(ld_support.ROOT)
    log = open(cwd / "server.log", "w+b")
    proc = subprocess.Popen([sys.executable, "-m", "cohesio", "--store-dir", str(store), "serve", "--host",
                             "127.0.0.1", "--port", str(port), "--workers", "1"],
                            cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/themes", timeout=5) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            log.seek(0)
            raise RuntimeError(log.read().decode(errors="replace"))
        time.sleep(0.3)
    yield base
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=15)
    log.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not (Path(CHROMIUM).exists() and Path(DRIVER).exists()):
        pytest.fail("chromium / chromium-driver missing: 'make install-system'")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1200,1600",
                 f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    yield driver
    driver.quit()


def test_browse_in_a_real_browser(real_server, browser):
    from selenium.webdriver.common.by import By

    b = browser
    b.get(real_server + "/")
    assert b.find_element(By.TAG_NAME, "html").get_attribute("lang") in ("fr", "en")
    b.find_element(By.CSS_SELECTOR, '.lang-switch a[hreflang="en"], .lang-switch a[hreflang="fr"]').click()
    first = b.find_element(By.TAG_NAME, "html").get_attribute("lang")
    b.get(real_server + "/?lang=fr")
    assert b.find_element(By.TAG_NAME, "html").get_attribute("lang") == "fr"
    b.find_element(By.CSS_SELECTOR, '.lang-switch a[hreflang="en"]').click()
    assert b.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en" and first
    box = b.find_element(By.ID, "site-search")
    box.send_keys("épicerie")
    box.submit()
    b.find_element(By.PARTIAL_LINK_TEXT, "Arles").click()
    assert "Arles" in b.find_element(By.TAG_NAME, "h1").text
    b.get(real_server + "/id/initiative/micro-creche-en-milieu-rural--cc-de-l-asse-et-de-ses-affluents?lang=fr")
    assert "/doc/initiative/" in b.current_url
    flag = b.find_element(By.CSS_SELECTOR, ".flag")
    assert "Tel qu'imprimé dans le guide" in flag.text and "Veynes (04)" in flag.text
    ARTIFACTS.mkdir(exist_ok=True)
    b.save_screenshot(str(ARTIFACTS / "veynes-example.png"))
    b.find_element(By.CSS_SELECTOR, "a.sparql-link").click()
    assert "/sparql" in b.current_url
    assert b.find_element(By.TAG_NAME, "h1").text
    deadline = time.monotonic() + 10
    query = ""
    while time.monotonic() < deadline and "micro-creche" not in query:
        query = b.execute_script("return window.cohesioEditor ? window.cohesioEditor.getTab().getYasqe().getValue() : ''") or ""
        time.sleep(0.3)
    assert "micro-creche" in query
    b.save_screenshot(str(ARTIFACTS / "sparql-prefilled.png"))


def _run_in_editor(b, base: str, lang: str, query: str, expect: set[str]) -> dict:
    """Open the editor in ``lang``, run ``query`` and return what the page shows once it answered."""
    b.get(f"{base}/sparql?lang={lang}")
    deadline = time.monotonic() + 15
    while not b.execute_script("return !!window.cohesioEditor"):
        assert time.monotonic() < deadline, "the editor did not start"
        time.sleep(0.2)
    b.execute_script("var y = window.cohesioEditor.getTab().getYasqe(); y.setValue(arguments[0]); y.query();", query)
    while True:
        shown = b.execute_script("""
            var chip = document.querySelector('.yasr_response_chip');
            var root = document.getElementById('yasgui');
            var titles = Array.prototype.map.call(root.querySelectorAll('[title]'), function (e) { return e.title; });
            var placeholders = Array.prototype.map.call(root.querySelectorAll('[placeholder]'), function (e) { return e.placeholder; });
            var header = document.querySelector('.yasr_header');
            return {chip: chip ? chip.innerText : '', text: root.innerText, titles: titles, placeholders: placeholders,
                    header: header ? header.innerText : '',
                    cells: Array.prototype.map.call(root.querySelectorAll('td'), function (e) { return e.innerText; }),
                    query: window.cohesioEditor.getTab().getYasqe().getValue()};""")
        # the tab may still show an earlier answer (YASGUI keeps the last one): wait for this one's values
        if shown["chip"] and all(value in {cell.strip().strip('"') for cell in shown["cells"]} for value in expect):
            return shown
        assert time.monotonic() < deadline, shown
        time.sleep(0.2)


def test_the_editor_speaks_french_without_touching_the_query_or_the_results(real_server, browser):
    # A value that is also one of YASGUI's texts: it must stay as the data says, in the query and the table.
    query = 'SELECT ?x WHERE { VALUES ?x { "Table" "Simple view" "Response" } }'
    values = {"Table", "Simple view", "Response"}
    fr = _run_in_editor(browser, real_server, "fr", query, values)
    assert fr["chip"].startswith("3 résultats en ") and fr["chip"].endswith(" s"), fr["chip"]
    assert "Vue simple" in fr["header"] and "Simple view" not in fr["header"] and "Tableau" in fr["header"]
    assert "Lignes par page :" in fr["header"] and "Page size" not in fr["header"]
    assert "Exécuter la requête" in fr["titles"] and "Run query" not in fr["titles"]
    assert "Filtrer les résultats" in fr["placeholders"]
    assert "Lignes 1 à 3 sur 3" in fr["text"]
    assert {"Table", "Simple view", "Response"} <= {cell.strip().strip('"') for cell in fr["cells"]}, fr["cells"]
    assert fr["query"] == query
    browser.save_screenshot(str(ARTIFACTS / "editor-fr.png"))
    en = _run_in_editor(browser, real_server, "en", query, values)
    assert en["chip"].startswith("3 results in "), en["chip"]
    assert "Run query" in en["titles"] and "Exécuter la requête" not in en["titles"]
    assert "Simple view" in en["header"] and "Vue simple" not in en["text"]
