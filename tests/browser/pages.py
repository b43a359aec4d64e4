"""``Browser``: a headless Chromium (Debian's ``chromium`` and ``chromium-driver``) on one
Horizon, driven by Selenium, with the waits Horizon's AngularJS pages need (never a sleep)
and a screenshot of each page a test goes through."""

from __future__ import annotations

import shutil
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import (
    ElementClickInterceptedException,
    StaleElementReferenceException,
)
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

WAIT = 30.0  # seconds for a page or an Angular table to show what is expected


def chromium_paths() -> tuple[str, str]:
    chromium = shutil.which("chromium")
    driver = shutil.which("chromedriver")
    assert chromium and driver, (
        "chromium and chromium-driver (apt) are needed: tools/test installs them"
    )
    return chromium, driver


def new_browser(url: str, shots: Path) -> Browser:
    chromium, driver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,900", "--no-proxy-server"):  # fmt: skip
        options.add_argument(arg)
    return Browser(webdriver.Chrome(service=Service(driver), options=options), url, shots)


FIELDS_JS = """
const pairs = [];
for (const dt of document.querySelectorAll('dl dt')) {
  const dd = dt.nextElementSibling;
  if (dd && dd.tagName === 'DD') pairs.push([dt.innerText.trim(), dd.innerText.trim()]);
}
return pairs;
"""


NAMES_JS = """
return Array.from(document.querySelectorAll('table tbody tr td a'))
  .filter(a => a.href.includes('/ngdetails/'))
  .map(a => a.innerText.trim());
"""


def xpath_literal(text: str) -> str:
    assert "'" not in text
    return f"'{text}'"


class Browser:
    def __init__(self, driver: webdriver.Chrome, url: str, shots: Path) -> None:
        self.driver = driver
        self.url = url.rstrip("/")
        self.shots = shots
        self.count = 0
        shots.mkdir(parents=True, exist_ok=True)

    # -- navigation and evidence ---------------------------------------------------------------
    def get(self, path: str) -> None:
        self.driver.get(self.url + path)

    def shot(self, name: str) -> Path:
        self.count += 1
        path = self.shots / f"{self.count:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def wait(self, condition, timeout: float = WAIT):  # type: ignore[no-untyped-def]
        return WebDriverWait(
            self.driver, timeout, ignored_exceptions=(StaleElementReferenceException,)
        ).until(condition)

    def find(self, css: str, timeout: float = WAIT) -> WebElement:
        return self.wait(ec.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout)

    def find_xpath(self, xpath: str, timeout: float = WAIT) -> WebElement:
        return self.wait(ec.visibility_of_element_located((By.XPATH, xpath)), timeout)

    def click(self, css: str, timeout: float = WAIT) -> None:
        self._click((By.CSS_SELECTOR, css), timeout)

    def _click(self, locator: tuple[str, str], timeout: float = WAIT) -> None:
        """Click the element once it is clickable; a click another element took (an Angular
        table re-rendering its rows under the pointer) did not happen and is tried again."""

        def clicked(driver: webdriver.Chrome) -> bool:
            element = ec.element_to_be_clickable(locator)(driver)
            if not element:
                return False
            element.click()
            return True

        ignored = (StaleElementReferenceException, ElementClickInterceptedException)
        WebDriverWait(self.driver, timeout, ignored_exceptions=ignored).until(clicked)

    def click_button(self, text: str, within: str = "") -> None:
        """The visible button (or link) whose text is ``text``, inside ``within`` (XPath)."""
        xpath = (
            f"{within}//*[self::button or self::a]"
            f"[normalize-space()={xpath_literal(text)} and not(contains(@class, 'disabled'))]"
        )
        self._click((By.XPATH, xpath))

    def retype(self, css: str, text: str, by: str = By.CSS_SELECTOR) -> None:
        """Replace a field's text the way a user does (Angular sees each key)."""
        field = self.wait(ec.visibility_of_element_located((by, css)))
        field.send_keys(Keys.CONTROL, "a")
        field.send_keys(Keys.DELETE)
        field.send_keys(text)

    def item_action(self, text: str) -> None:
        """An action of a detail page's action menu (Edit Image, Update Metadata, ...)."""
        self.click(".details-item-actions .dropdown-toggle")
        self.click_button(text, within="//*[contains(@class, 'details-item-actions')]")

    def text_appears(self, css: str, text: str, timeout: float = WAIT) -> None:
        self.wait(ec.text_to_be_present_in_element((By.CSS_SELECTOR, css), text), timeout)

    def body(self) -> str:
        return self.driver.find_element(By.TAG_NAME, "body").text

    def fields(self) -> dict[str, str]:
        """The ``dt``/``dd`` pairs of the page (a detail page's fields), by label."""
        return dict(self.driver.execute_script(FIELDS_JS))

    # -- Horizon -------------------------------------------------------------------------------
    def login(self, user: str, password: str = "password") -> None:
        self.get("/auth/login/")
        self.find("#id_username").send_keys(user)
        self.find("#id_password").send_keys(password)
        self.click("#loginBtn")
        self.wait(lambda d: "/auth/login" not in d.current_url)

    def table_names(self) -> set[str]:
        """The names in the Images table, once Angular has drawn it."""
        self.find("table")
        return set(self.driver.execute_script(NAMES_JS))

    def filter_by(self, facet: str, option: str | None = None, text: str | None = None) -> None:
        """A facet of the table's search bar, with one of its options or a typed value."""
        self.click(".magic-search .search-input")
        menu = "//ul[contains(@class, 'facet-drop')]"
        self.click_button(facet, within=menu)
        if option is not None:
            self.click_button(option, within=menu)
        else:
            field = self.find(".magic-search .search-input")
            field.send_keys(text or "", Keys.ENTER)

    def create_image(self, name: str, path: Path) -> None:
        """Through the Create Image wizard of the Images panel."""
        self.get("/project/images/")
        self.click_button("Create Image")
        self.find("#imageForm-name").send_keys(name)
        self.driver.find_element(By.CSS_SELECTOR, "input[name='image_file']").send_keys(str(path))
        fmt = Select(self.find("#imageForm-format"))
        fmt.select_by_visible_text(next(o.text for o in fmt.options if o.text.startswith("QCOW2")))
        self.shot("create-form")
        self.click(".modal-footer button.finish")
