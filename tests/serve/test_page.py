"""The demo page in a real browser (Debian's chromium, headless, through selenium and chromium-driver): type a
post, attach a photo, submit, and read the rendered entities and image labels. Saves the screenshot the docs
show. In CI (CI=true) a missing browser fails the test; elsewhere it skips with the reason."""
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image
from skimage import data

from servers import CATS

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "serve-demo.png"


def browser():
    """A headless chromium driven by selenium, or a skip (a failure in CI) saying what is missing."""
    def missing(reason: str):
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{reason} (CI must run the browser test: make setup installs chromium-driver)")
        pytest.skip(reason)

    try:
        from selenium import webdriver
    except ImportError:
        missing("selenium is not installed (pip install -e '.[test]')")
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not os.path.exists(driver_path) or chromium is None:
        missing("Debian's chromium and chromium-driver are not installed (apt-get install -y chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1100,860", "--force-device-scale-factor=1"):
        options.add_argument(argument)
    service = webdriver.ChromeService(executable_path=driver_path)  # the system driver: selenium fetches nothing
    return webdriver.Chrome(options=options, service=service)


def test_demo_page_tags_a_post_with_a_photo(server, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    photo = tmp_path / "chelsea.jpg"
    Image.fromarray(data.chelsea()).save(photo)
    driver = browser()
    try:
        driver.get(f"{server.url}/")
        assert "spacy-mner" in driver.title
        text = "Obama visits Paris with Ana \U0001F431 and @NASA"
        # send_keys types only the Basic Multilingual Plane: set the emoji with script, as a paste would
        driver.execute_script("document.getElementById('text').value = arguments[0];", text)
        driver.find_element(By.ID, "image").send_keys(str(photo))
        driver.find_element(By.ID, "submit").click()
        wait = WebDriverWait(driver, 60)
        wait.until(expected_conditions.visibility_of_element_located((By.ID, "result")))
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "li.image-label"))

        marks = driver.execute_script(  # each highlight's label and its words (the mark's first text node)
            "return [...document.querySelectorAll('#entities mark.entity')]"
            ".map(m => [m.dataset.label, m.firstChild.textContent, m.querySelector('.label').textContent])")
        assert ["PER", "Obama", "PER"] in marks and ["LOC", "Paris", "LOC"] in marks, marks
        # the text around the entities is kept whole, emoji included (offsets are code points)
        assert driver.find_element(By.ID, "entities").text.replace("\n", " ").count("\U0001F431") == 1
        assert "and @NASA" in driver.find_element(By.ID, "entities").text.replace("\n", " ")
        # every entity has a confidence cell (n/a where the pipeline gives none)
        rows = driver.find_elements(By.CSS_SELECTOR, "#entity-table tbody tr")
        assert len(rows) == len(marks)
        labels = [item.text for item in driver.find_elements(By.CSS_SELECTOR, "li.image-label")]
        assert len(labels) == 5 and any(label.rsplit(" ", 1)[0] in CATS for label in labels)
        assert driver.find_element(By.CSS_SELECTOR, "#picture img").get_attribute("src").startswith("blob:")
        assert "entities in" in driver.find_element(By.ID, "status").text
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        driver.save_screenshot(str(SCREENSHOT))
    finally:
        driver.quit()
    assert SCREENSHOT.stat().st_size < 300_000
