package jdiffusion.serve;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The web page in a real browser: Debian's headless Chromium through chromium-driver (Selenium). Skips with
 * a message where they are not installed, and fails instead under CI=true (.ci/run installs them).
 */
class BrowserTest {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium"), DRIVER = Path.of("/usr/bin/chromedriver");
    static Server server;
    static WebDriver browser;

    @BeforeAll
    static void start(@TempDir Path profile) {
        if (!Files.isExecutable(CHROMIUM) || !Files.isExecutable(DRIVER)) {
            String msg = "headless Chromium not found (" + CHROMIUM + ", " + DRIVER + "): apt-get install chromium chromium-driver";
            if ("true".equalsIgnoreCase(System.getenv("CI"))) Assertions.fail(msg + " — required under CI=true");
            Assumptions.abort(msg);
        }
        server = TestServers.start(TestServers.config());
        ChromeOptions o = new ChromeOptions();
        o.setBinary(CHROMIUM.toFile());
        o.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir=" + profile,
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-quic",
                "--window-size=1280,900");
        ChromeDriverService driver = new ChromeDriverService.Builder().usingDriverExecutable(DRIVER.toFile()).usingAnyFreePort()
                .withLogFile(new File(profile.toFile(), "chromedriver.log")).build();
        browser = new ChromeDriver(driver, o);
    }

    @AfterAll
    static void stop() {
        if (browser != null) browser.quit();
        if (server != null) server.close();
    }

    private static Object js(String script) {
        return ((JavascriptExecutor) browser).executeScript(script);
    }

    private static void set(String id, String value) {
        WebElement e = browser.findElement(By.id(id));
        e.clear();
        e.sendKeys(value);
    }

    /** Waits until the panel's image holds a PNG that has loaded; returns its natural size. */
    private static long[] awaitImage(String panel) {
        new WebDriverWait(browser, Duration.ofMinutes(4)).until(d -> Boolean.TRUE.equals(js(
                "const i = document.querySelector('#" + panel + " img'); return i.src.startsWith('data:image/png;base64,') && i.complete && i.naturalWidth > 0;")));
        return new long[]{(Long) js("return document.querySelector('#" + panel + " img').naturalWidth;"),
                (Long) js("return document.querySelector('#" + panel + " img').naturalHeight;")};
    }

    private static List<String> strip(String panel) {
        return browser.findElements(By.cssSelector("#" + panel + " .strip .cell")).stream().map(c -> c.getAttribute("class")).toList();
    }

    @Test
    void generatesWithTheBundledModelAndShowsImageAndStrip() {
        browser.get("http://127.0.0.1:" + server.port() + "/");
        new WebDriverWait(browser, Duration.ofSeconds(30)).until(d -> d.findElements(By.cssSelector("#model option")).size() == 2);
        set("steps", "4");
        set("seed", "3");
        browser.findElement(By.id("generate")).click();
        long[] size = awaitImage("panel-main");
        assertEquals(32, size[0], "one 32×32 image at its own size, as generate writes it");
        assertEquals(32, size[1]);
        assertEquals(128L, js("return document.querySelector('#panel-main img').getBoundingClientRect().width;"), "shown enlarged 4×");
        new WebDriverWait(browser, Duration.ofSeconds(30)).until(d -> d.findElement(By.cssSelector("#panel-main .summary")).getText().contains("GMACs"));
        assertEquals(List.of("cell full", "cell full", "cell full", "cell full"), strip("panel-main"));
        String summary = browser.findElement(By.cssSelector("#panel-main .summary")).getText();
        assertTrue(summary.startsWith("4 full UNet calls, 0 partial, 0 skipped"), summary);
        // the page shows exactly the image the API gives for these settings
        String src = (String) js("return document.querySelector('#panel-main img').src;");
        byte[] shown = Base64.getDecoder().decode(src.substring(src.indexOf(',') + 1));
        assertArrayEquals(TestServers.post(server, "{\"seed\":3,\"steps\":4}").body(), shown);
    }

    @Test
    void compareWithFullStepShowsBothSideBySide() {
        browser.get("http://127.0.0.1:" + server.port() + "/");
        new WebDriverWait(browser, Duration.ofSeconds(30)).until(d -> d.findElements(By.cssSelector("#model option")).size() == 2);
        set("steps", "4");
        browser.findElement(By.cssSelector("input[value=deepcache]")).click();
        set("interval", "2");
        browser.findElement(By.id("compare")).click();
        long[] full = awaitImage("panel-full");
        assertEquals(32, full[0]);
        assertTrue(browser.findElement(By.id("panel-full")).isDisplayed());
        assertEquals(List.of("cell full", "cell partial", "cell full", "cell partial"), strip("panel-main"));
        assertEquals(List.of("cell full", "cell full", "cell full", "cell full"), strip("panel-full"));
        assertTrue(browser.findElement(By.cssSelector("#panel-main .policy")).getText().contains("deepcache(N=2"));
        // what a person sees, kept beside the test reports
        byte[] shot = ((org.openqa.selenium.TakesScreenshot) browser).getScreenshotAs(org.openqa.selenium.OutputType.BYTES);
        try {
            Files.write(Path.of("target", "browser-test-compare.png"), shot);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
